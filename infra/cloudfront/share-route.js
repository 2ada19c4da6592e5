import cf from 'cloudfront';
// ogshot site distribution, viewer request (CloudFront Functions, cloudfront-js-2.0), when
// the stack fronts an existing site. (The import must be the first line, CloudFront's rule.)
//
// A share link is the site's own URL plus ?social=<id>. A GET or HEAD that carries exactly
// one `social`, a valid id, goes to the injector (main-site) in an origin group whose
// failover is the site's own origin; every other request keeps the behavior's origin, the
// site, and reaches it as the viewer sent it (an S3 site's `/dir/` becomes `/dir/index.html`,
// below). A `social` that is anything else (not an id, repeated, percent-encoded, spelt
// `%73ocial`) is dropped before the cache lookup, so junk never reaches the injector and
// never splits the cache key.
//
// The origin group is made here, not in the template: a template origin group would have to
// be the target of the default behavior, which would then allow GET, HEAD and OPTIONS only
// and refuse the site's own POSTs; cache behaviors match paths, never query strings.
//
// The id rule is shared-ids' SocialId::parse on the raw value: ASCII digits and hyphens
// only, so the encoded and decoded forms of a valid id are the same string and anything
// percent-encoded is refused. cloudfront/share-route.test.mjs checks this file against the
// shared vectors (shared-ids/testdata/social-ids.json) and that template.yaml embeds it
// verbatim, under !Sub, whose one placeholder here is SITE_BUCKET's.

// Origin ids of the site distribution in template.yaml.
var INJECTOR_ORIGIN_ID = 'main-site-function';
var SITE_ORIGIN_ID = 'site-origin';

// CloudFormation's !Sub writes the SiteBucketName parameter here: empty when the site is an
// HTTPS origin. The parameter's pattern (a-z, 0-9, hyphens) cannot end the string early.
var SITE_BUCKET = '${SiteBucketName}';

// Every code CloudFront accepts as a failover criterion. From the injector each is either
// its own fault (a 502/504 for a failing or slow upstream, Lambda's 500/503, a 403 from a
// mis-set OAC or permission, a 404 from a missing function URL) or the site's own answer
// passed through, which the site then gives directly: never worse for a crawler. 429, the
// function URL's answer when the function is throttled, is not among them (CloudFront takes
// none other), so template.yaml reserves no concurrency for the injector by default.
var FAILOVER_STATUS_CODES = [400, 403, 404, 416, 500, 502, 503, 504];

// The injector only reads; a body could not reach it anyway (OAC signs no body a viewer sends).
var SHARE_METHODS = ['GET', 'HEAD'];

var SOCIAL = 'social';

// [0-9], not \d: an id has ASCII digits only. Anchored; linear-time on any input.
var ID_PATTERN = /^[0-9]{2}-[0-9]{2}-[0-9]{2}$/;

// A share link's cache key carries the current window of the clock, through this header
// (in the cache key by SiteFrontCachePolicy), so nothing cached under a share link is
// served after its window: above all the site's plain page after a failover, which would
// otherwise be kept under the share link for the site's own max-age. CloudFront Functions
// set no TTL, and the only other bound, a cache policy's MaxTTL, would cap the whole site:
// a share link shares the default behavior with every other page. Windows follow the
// clock, so they are the same at every edge.
var SHARE_WINDOW_HEADER = 'x-ogshot-share-window';
var SHARE_WINDOW_SECONDS = 300;

// What S3's REST endpoint lacks and the injector has (main-site/src/upstream/static_site.rs).
var INDEX_DOCUMENT = 'index.html';

// The key as the injector's query parser would read it: `%73ocial` is `social` there.
function isSocialKey(key) {
    if (key === SOCIAL) {
        return true;
    }
    if (key.indexOf('%') < 0) {
        return false;
    }
    try {
        return decodeURIComponent(key) === SOCIAL;
    } catch (e) {
        return false;
    }
}

function valuesOf(entry) {
    if (entry.multiValue && entry.multiValue.length > 0) {
        return entry.multiValue.map(function (item) { return item.value; });
    }
    return [entry.value];
}

// The request's share id, or null after removing every `social` from the query.
function takeShareId(querystring) {
    var keys = [];
    var values = [];
    for (var key in querystring) {
        if (isSocialKey(key)) {
            keys.push(key);
            values = values.concat(valuesOf(querystring[key]));
        }
    }
    if (keys.length === 1 && keys[0] === SOCIAL && values.length === 1 &&
        typeof values[0] === 'string' && ID_PATTERN.test(values[0])) {
        return values[0];
    }
    for (var i = 0; i < keys.length; i++) {
        delete querystring[keys[i]];
    }
    return null;
}

// CloudFront Functions' clock stands still during a run: one value per request.
function shareWindow() {
    return String(Math.floor(Date.now() / 1000 / SHARE_WINDOW_SECONDS));
}

// A bucket has no index documents: `/docs/` names the key `docs/`, which no static site
// holds, so it becomes `/docs/index.html`, as the injector reads it. A key that is not there
// is the distribution's CustomErrorResponses' to answer (the 404 page, or an SPA's index).
function bucketPath(uri) {
    return uri.charAt(uri.length - 1) === '/' ? uri + INDEX_DOCUMENT : uri;
}

function handler(event) {
    var request = event.request;
    // Only this function sets it: a viewer's own would pick a share link's entry, or split the site's.
    delete request.headers[SHARE_WINDOW_HEADER];
    var id = takeShareId(request.querystring);
    if (id !== null && SHARE_METHODS.indexOf(request.method) !== -1) {
        request.headers[SHARE_WINDOW_HEADER] = { value: shareWindow() };
        cf.createRequestOriginGroup({
            originIds: [{ originId: INJECTOR_ORIGIN_ID }, { originId: SITE_ORIGIN_ID }],
            failoverCriteria: { statusCodes: FAILOVER_STATUS_CODES },
        });
    } else if (SITE_BUCKET !== '') {
        // Not for share links: the injector maps their path itself and names the page by
        // the path it was shared as (og:url).
        request.uri = bucketPath(request.uri);
    }
    return request;
}
