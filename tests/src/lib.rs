//! End-to-end suites of ogshot; filled by the end-to-end issue.
