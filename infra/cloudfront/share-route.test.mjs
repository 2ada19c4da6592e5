// Tests the site distribution's CloudFront Function (share-route.js) with node's own test
// runner: `node --test infra/cloudfront/`. No npm packages.
//
// Driven by the shared vectors file, like the Rust tests: a valid id must reach the injector,
// everything else the site with `social` gone. The function is loaded twice, as !Sub fills
// it in for each kind of site: an HTTPS origin (SiteBucketName empty) and an S3 bucket. The
// origin ids, the cache key's share window and the bucket's error pages must be the
// template's, and template.yaml must embed this very code.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { embeddedFunctionCode } from './template-code.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const source = readFileSync(join(here, 'share-route.js'), 'utf8');
const templateText = readFileSync(join(here, '..', 'template.yaml'), 'utf8');
const vectors = JSON.parse(
    readFileSync(join(repo, 'shared-ids', 'testdata', 'social-ids.json'), 'utf8'),
);

const IMPORT = "import cf from 'cloudfront';\n";

// The one placeholder that !Sub fills in (template.yaml's ShareRouteFunction).
const BUCKET_PLACEHOLDER = "'${SiteBucketName}'";

// What CloudFront accepts as failover criteria (CloudFront Developer Guide, "Optimize high
// availability with CloudFront origin failover"). 429 is not among them.
const FAILOVER_CODES_CLOUDFRONT_ALLOWS = [400, 403, 404, 416, 500, 502, 503, 504];

const WINDOW_HEADER = 'x-ogshot-share-window';

/** The CloudFront Functions clock, which the tests move: milliseconds since the epoch. */
const clock = { now: Date.UTC(2026, 0, 1) };

/**
 * The function as CloudFront runs it for a site whose SiteBucketName is `bucket` ('' for an
 * HTTPS site), minus the module import, which a plain script cannot carry: `cf` is a
 * stand-in that records the origin groups the function asks for, `Date` reads `clock`.
 */
function load(bucket) {
    assert.equal(source.split(BUCKET_PLACEHOLDER).length, 2, `share-route.js must hold ${BUCKET_PLACEHOLDER} once`);
    const groups = [];
    const fn = vm.runInNewContext(
        `${source.slice(IMPORT.length).replace(BUCKET_PLACEHOLDER, `'${bucket}'`)}\n` +
            ';({ handler, INJECTOR_ORIGIN_ID, SITE_ORIGIN_ID, FAILOVER_STATUS_CODES, SHARE_WINDOW_HEADER, SHARE_WINDOW_SECONDS })',
        Object.assign(Object.create(null), {
            cf: {
                createRequestOriginGroup: (params) => groups.push(JSON.parse(JSON.stringify(params))),
                selectRequestOriginById: () => assert.fail('the function selects no single origin'),
                updateRequestOrigin: () => assert.fail('the function defines no origin'),
            },
            Date: { now: () => clock.now },
        }),
    );
    return { fn, groups };
}

const sites = [
    { kind: 'HTTPS site', ...load('') },
    { kind: 'S3 site', ...load('my-site') },
];
const [httpsSite, bucketSite] = sites;
const { fn } = httpsSite;

/**
 * The request's query as CloudFront Functions gives it: one entry per name, `multiValue` when
 * a name repeats, names and values as they appear in the URL.
 */
function querystringOf(pairs) {
    const qs = {};
    for (const [name, value] of pairs) {
        if (!(name in qs)) {
            qs[name] = { value };
        } else {
            qs[name].multiValue ??= [{ value: qs[name].value }];
            qs[name].multiValue.push({ value });
        }
    }
    return qs;
}

/**
 * What `site`'s function does with a viewer request: where it goes, the origin group, the
 * query, uri and headers it keeps.
 */
function request(site, { pairs = [], method = 'GET', uri = '/blog/post', headers = {} } = {}) {
    const viewerRequest = {
        method,
        uri,
        querystring: querystringOf(pairs),
        headers: { host: { value: 'www.example.com' }, ...headers },
        cookies: { session: { value: 'abc' } },
    };
    site.groups.length = 0;
    const out = site.fn.handler({ version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '192.0.2.1' }, request: viewerRequest });
    assert.equal(out, viewerRequest, 'the function returns the request, never a response');
    assert.deepEqual(out.cookies, { session: { value: 'abc' } });
    assert.ok(site.groups.length <= 1, 'one origin group at most');
    return {
        origin: site.groups.length === 1 ? 'injector' : 'site',
        group: site.groups[0],
        querystring: out.querystring,
        uri: out.uri,
        headers: out.headers,
    };
}

/** Where each kind of site's function sends a request with these query pairs; path and headers kept. */
function route(pairs, method = 'GET') {
    const routes = sites.map((site) => {
        const out = request(site, { pairs, method });
        assert.equal(out.uri, '/blog/post', site.kind);
        const { [WINDOW_HEADER]: window, ...rest } = out.headers;
        assert.deepEqual(rest, { host: { value: 'www.example.com' } }, site.kind);
        assert.equal(window !== undefined, out.origin === 'injector', `${site.kind}: the share window is set on share links alone`);
        return out;
    });
    // As JSON: what the function made comes from the other realm, the vm's.
    assert.equal(JSON.stringify(routes[0]), JSON.stringify(routes[1]), 'both kinds of site route a request the same way');
    return routes[0];
}

/** The block of resource `name` in template.yaml. */
function resourceText(name) {
    const start = templateText.indexOf(`\n  ${name}:\n`);
    assert.notEqual(start, -1, `template.yaml has no resource ${name}`);
    const end = templateText.slice(start + 1).search(/\n {2}[A-Za-z]/);
    return templateText.slice(start + 1, end === -1 ? undefined : start + 1 + end);
}

test('template.yaml embeds share-route.js verbatim', () => {
    assert.equal(
        embeddedFunctionCode('ShareRouteFunction'),
        source,
        'the FunctionCode block of ShareRouteFunction in infra/template.yaml differs from infra/cloudfront/share-route.js: copy the file into the block (indented)',
    );
});

test('!Sub fills in the bucket and nothing else, and no bucket name can break out of the string', () => {
    assert.match(resourceText('ShareRouteFunction'), /^ {6}FunctionCode: !Sub \|$/m);
    assert.deepEqual(source.match(/\$\{[^}]*\}/g), ['${SiteBucketName}'], 'any other ${...} would be read by !Sub');
    assert.equal(source.split('${').length, 2, 'a lone ${ breaks !Sub');
    const pattern = /^ {4}AllowedPattern: (.+)$/m.exec(resourceText('SiteBucketName'));
    assert.ok(pattern, 'SiteBucketName has an AllowedPattern');
    const allowed = new RegExp(pattern[1]);
    assert.ok(allowed.test('my-site') && allowed.test(''));
    for (const name of ["my'site", 'my\\site', 'my\nsite', "a';x='"]) {
        assert.ok(!allowed.test(name), JSON.stringify(name));
    }
});

test('the function starts with the cloudfront import and fits CloudFront\'s 10 KB', () => {
    assert.ok(source.startsWith(IMPORT), `CloudFront wants ${JSON.stringify(IMPORT)} as the first line`);
    // A bucket name is at most 63 bytes, in place of the 17-byte placeholder.
    assert.ok(Buffer.byteLength(source) + 63 <= 10 * 1024, `${Buffer.byteLength(source)} bytes`);
});

test('the origin ids are the site distribution\'s and the failover codes CloudFront\'s', () => {
    for (const id of [fn.INJECTOR_ORIGIN_ID, fn.SITE_ORIGIN_ID]) {
        assert.match(templateText, new RegExp(`^ +(- )?Id: ${id}$`, 'm'), `template.yaml has no origin ${id}`);
    }
    for (const code of fn.FAILOVER_STATUS_CODES) {
        assert.ok(FAILOVER_CODES_CLOUDFRONT_ALLOWS.includes(code), `CloudFront refuses ${code} as a failover code`);
    }
});

test('429 cannot fail over, so the injector reserves no concurrency unless the operator asks', () => {
    assert.ok(!FAILOVER_CODES_CLOUDFRONT_ALLOWS.includes(429));
    assert.match(resourceText('MainSiteReservedConcurrency'), /^ {4}Default: ""$/m);
    assert.match(
        resourceText('MainSiteFunction'),
        /^ {6}ReservedConcurrentExecutions: !If \[HasMainSiteReservation, !Ref MainSiteReservedConcurrency, !Ref AWS::NoValue\]$/m,
    );
});

test('every valid id goes to the injector, the site as its failover, query untouched', () => {
    assert.ok(vectors.valid.length >= 10);
    for (const method of ['GET', 'HEAD']) {
        for (const id of vectors.valid) {
            const pairs = [['utm_source', 'x%20y'], ['social', id], ['page', '2'], ['flag', '']];
            const { origin, group, querystring } = route(pairs, method);
            assert.equal(origin, 'injector', `${method} ${id}`);
            assert.deepEqual(group, {
                originIds: [{ originId: 'main-site-function' }, { originId: 'site-origin' }],
                failoverCriteria: { statusCodes: [...fn.FAILOVER_STATUS_CODES] },
            });
            assert.deepEqual(querystring, querystringOf(pairs), `${method} ${id}`);
        }
    }
});

test('a share link is cached for the rest of its window at most, a failed-over page included', () => {
    const seconds = fn.SHARE_WINDOW_SECONDS;
    assert.ok(seconds > 0 && seconds <= 300, `${seconds} s`);
    const share = { pairs: [['social', '12-34-10']] };
    const windowAt = (ms) => {
        clock.now = ms;
        return request(httpsSite, share).headers[WINDOW_HEADER].value;
    };
    const start = Date.UTC(2026, 0, 1, 12, 0, 0);
    assert.equal(start % (seconds * 1000), 0, 'the test starts on a window boundary');
    const first = windowAt(start);
    assert.equal(windowAt(start + seconds * 1000 - 1), first, 'one key within a window');
    const next = windowAt(start + seconds * 1000);
    assert.notEqual(next, first, 'a new key once the window is over: whatever was cached is not served');
    assert.notEqual(windowAt(start + 2 * seconds * 1000), next);
    // Every edge computes the same window from the clock; so does the other kind of site.
    clock.now = start + 1234;
    assert.equal(request(bucketSite, share).headers[WINDOW_HEADER].value, first);
    // The key is only the key if the cache policy puts the header in it.
    assert.equal(fn.SHARE_WINDOW_HEADER, WINDOW_HEADER);
    assert.match(
        resourceText('SiteFrontCachePolicy'),
        new RegExp(`HeaderBehavior: whitelist\\n +Headers: \\[${WINDOW_HEADER}\\]`),
    );
});

test('a viewer\'s own share window is dropped from every request and replaced on share links', () => {
    const forged = { [WINDOW_HEADER]: { value: 'forged' } };
    for (const site of sites) {
        for (const pairs of [[], [['q', '1']], [['social', 'junk']], [['social', '12-34-10'], ['social', '12-34-10']]]) {
            const { origin, headers } = request(site, { pairs, headers: forged });
            assert.equal(origin, 'site');
            assert.ok(!(WINDOW_HEADER in headers), `${site.kind} ${JSON.stringify(pairs)}`);
        }
        const { origin, headers } = request(site, { pairs: [['social', '12-34-10']], headers: forged });
        assert.equal(origin, 'injector');
        assert.match(headers[WINDOW_HEADER].value, /^[0-9]+$/, site.kind);
    }
});

test('an S3 site\'s directories are their index.html for everyone the bucket answers', () => {
    const uris = [
        ['/', '/index.html'],
        ['/docs/', '/docs/index.html'],
        ['/docs/guide/', '/docs/guide/index.html'],
        ['/caf%C3%A9/', '/caf%C3%A9/index.html'],
        ['/docs', '/docs'],
        ['/blog/launch-week', '/blog/launch-week'],
        ['/app.js', '/app.js'],
        ['/docs/index.html', '/docs/index.html'],
    ];
    for (const method of ['GET', 'HEAD']) {
        for (const [uri, key] of uris) {
            for (const pairs of [[], [['q', '1']], [['social', 'junk']], [['social', '12-34-10'], ['social', '99-99-99']]]) {
                const out = request(bucketSite, { uri, method, pairs });
                assert.equal(out.origin, 'site');
                assert.equal(out.uri, key, `${method} ${uri} ${JSON.stringify(pairs)}`);
            }
            assert.equal(request(httpsSite, { uri, method }).uri, uri, `an HTTPS site maps its own paths: ${uri}`);
        }
    }
});

test('a share link keeps its path, which the injector maps itself and names as shared', () => {
    for (const site of sites) {
        for (const uri of ['/', '/docs/', '/blog/launch-week']) {
            const out = request(site, { uri, pairs: [['social', '12-34-10']] });
            assert.equal(out.origin, 'injector');
            assert.equal(out.uri, uri, `${site.kind} ${uri}`);
        }
    }
});

test('an S3 site\'s missing keys get its 404 page, or an SPA\'s index.html, never the injector\'s answers', () => {
    const distribution = resourceText('SiteDistribution');
    const errors = /^ {8}CustomErrorResponses: !If\n {10}- HasSiteBucket\n((?: {10}- - [^\n]*\n| {12}[^\n]*\n)+) {10}- !Ref AWS::NoValue$/m.exec(distribution);
    assert.ok(errors, 'SiteDistribution has CustomErrorResponses for an S3 site only');
    const entries = errors[1].split(/^(?: {10}- - | {12}- )/m).filter((entry) => entry.trim() !== '');
    const codes = entries.map((entry) => Number(/ErrorCode: ([0-9]+)/.exec(entry)[1]));
    // S3 says 403 for a missing key without s3:ListBucket, 404 with it.
    assert.deepEqual(codes.sort(), [403, 404]);
    for (const entry of entries) {
        assert.match(entry, /ResponseCode: !If \[SiteIsSpa, 200, 404\]/);
        assert.match(entry, /ResponsePagePath: !If \[SiteIsSpa, \/index\.html, \/404\.html\]/);
    }
    assert.match(templateText, /^ {2}SiteIsSpa: !Equals \[!Ref SiteIsSinglePageApp, "true"\]$/m);
    // The distribution's error pages replace what the last origin said. The injector is
    // never last for these: its own 403 and 404 send the share link on to the bucket.
    for (const code of codes) {
        assert.ok(fn.FAILOVER_STATUS_CODES.includes(code), `${code} would replace the injector's own answer`);
    }
});

test('a valid id on any other method goes to the site, social kept', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const pairs = [['social', '12-34-10'], ['q', '1']];
        const { origin, querystring } = route(pairs, method);
        assert.equal(origin, 'site', method);
        assert.deepEqual(querystring, querystringOf(pairs), method);
    }
});

test('every invalid id goes to the site with social dropped and the rest kept', () => {
    assert.ok(vectors.invalid.length >= 10);
    // As a browser sends it (encoded), and as it would be if CloudFront decoded values.
    const forms = [['encoded', encodeURIComponent], ['raw', (input) => input]];
    for (const { input, why } of vectors.invalid) {
        for (const [form, encode] of forms) {
            const { origin, querystring } = route([['a', '1'], ['social', encode(input)], ['b', 'two']]);
            assert.equal(origin, 'site', `${why} (${form}): ${JSON.stringify(input.slice(0, 40))}`);
            assert.deepEqual(querystring, querystringOf([['a', '1'], ['b', 'two']]), `${why} (${form})`);
        }
    }
});

test('a repeated social goes to the site with every social dropped', () => {
    const cases = [
        [['social', '12-34-10'], ['social', '12-34-10']],
        [['social', '12-34-10'], ['social', '99-99-99']],
        [['social', '12-34-10'], ['social', 'junk']],
        [['social', 'junk'], ['social', '12-34-10']],
        [['social', ''], ['social', '12-34-10']],
        [['social', '12-34-10'], ['%73ocial', '12-34-10']],
        [['%73ocial', '12-34-10'], ['social', '12-34-10']],
        [['social', '12-34-10'], ['%73%6F%63%69%61%6C', '00-00-00']],
    ];
    for (const pairs of cases) {
        const { origin, querystring } = route([['keep', 'me'], ...pairs]);
        assert.equal(origin, 'site', JSON.stringify(pairs));
        assert.deepEqual(querystring, querystringOf([['keep', 'me']]), JSON.stringify(pairs));
    }
});

test('an encoded spelling of social is dropped, never routed', () => {
    for (const name of ['%73ocial', 'soci%61l', '%73%6f%63%69%61%6c', '%73%6F%63%69%61%6C']) {
        const { origin, querystring } = route([[name, '12-34-10'], ['q', '1']]);
        assert.equal(origin, 'site', name);
        assert.deepEqual(querystring, querystringOf([['q', '1']]), name);
    }
});

test('names that are not social reach the site untouched', () => {
    // Case matters to the injector's parser, and a malformed escape decodes to nothing.
    const names = ['Social', 'SOCIAL', 'social ', 'social%00', 'socia', 'socials', 'soc%ZZial', '%E0%A4%A', 'social[]', 'x-social'];
    for (const name of names) {
        const pairs = [[name, '12-34-10'], ['q', '1']];
        const { origin, querystring } = route(pairs);
        assert.equal(origin, 'site', name);
        assert.deepEqual(querystring, querystringOf(pairs), name);
    }
});

test('a request without social reaches the site untouched', () => {
    for (const pairs of [[], [['q', 'a+b'], ['ref', 'news']], [['', '']], [['social_id', '12-34-10']]]) {
        const { origin, querystring } = route(pairs);
        assert.equal(origin, 'site', JSON.stringify(pairs));
        assert.deepEqual(querystring, querystringOf(pairs), JSON.stringify(pairs));
    }
});

test('hostile values are dropped in linear time', () => {
    const hostile = ['1'.repeat(100_000), `12-34-10${' '.repeat(100_000)}`, '12-34-10&social=12-34-10', '-'.repeat(100_000)];
    for (const value of hostile) {
        const { origin, querystring } = route([['social', value]]);
        assert.equal(origin, 'site');
        assert.deepEqual(querystring, {});
    }
});
