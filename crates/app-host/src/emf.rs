//! CloudWatch Embedded Metric Format, as every app on Lambda prints its counts: one JSON
//! line on stdout per record, one `Count` metric per count, the function's name as the
//! one dimension (so two stacks in one account keep separate metrics, and infra's
//! alarms select by it).
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

/// The dimension of every EMF metric; infra's alarms and dashboard select by it.
pub const EMF_DIMENSION: &str = "FunctionName";

/// This function's name (`AWS_LAMBDA_FUNCTION_NAME`), else `default`.
pub fn emf_function_name(default: &str) -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| default.to_owned())
}

/// One EMF record of `counts` in `namespace`, stamped now.
pub fn emf_record(
    namespace: &str,
    function_name: &str,
    counts: &[(impl AsRef<str>, u64)],
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    emf_record_at(namespace, function_name, counts, now)
}

/// One EMF record of `counts` in `namespace`, stamped `timestamp_ms`.
pub fn emf_record_at(
    namespace: &str,
    function_name: &str,
    counts: &[(impl AsRef<str>, u64)],
    timestamp_ms: u128,
) -> String {
    let metrics: Vec<_> = counts
        .iter()
        .map(|(name, _)| serde_json::json!({ "Name": name.as_ref(), "Unit": "Count" }))
        .collect();
    let mut record = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[EMF_DIMENSION]],
                "Metrics": metrics,
            }],
        },
        EMF_DIMENSION: function_name,
    });
    for (name, count) in counts {
        record[name.as_ref()] = (*count).into();
    }
    record.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_follows_the_specification() {
        let line: serde_json::Value = serde_json::from_str(&emf_record_at(
            "ogshot/test",
            "ogshot-images",
            &[("Fallbacks", 1), ("Hits", 0)],
            1_700_000_000_000,
        ))
        .unwrap();
        assert_eq!(line["Fallbacks"], 1);
        assert_eq!(line["Hits"], 0);
        assert_eq!(line["FunctionName"], "ogshot-images");
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        let metric = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(metric["Namespace"], "ogshot/test");
        assert_eq!(
            metric["Metrics"],
            serde_json::json!([
                { "Name": "Fallbacks", "Unit": "Count" },
                { "Name": "Hits", "Unit": "Count" },
            ])
        );
        assert_eq!(metric["Dimensions"], serde_json::json!([["FunctionName"]]));
    }
}
