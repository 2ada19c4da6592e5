// Tests the site distribution's CloudFront Function (share-route.js) with node's own test
// runner: `node --test infra/cloudfront/`. No npm packages.
//
// Driven by the shared vectors file, like the Rust tests: a valid id must reach the injector,
// everything else the site with `social` gone. The origin ids must be the template's, and
// template.yaml must embed this very code.

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

// What CloudFront accepts as failover criteria (CloudFront Developer Guide, "Optimize high
// availability with CloudFront origin failover").
const FAILOVER_CODES_CLOUDFRONT_ALLOWS = [400, 403, 404, 416, 500, 502, 503, 504];

// Loaded as CloudFront loads it, minus the module import, which a plain script cannot
// carry: `cf` is a stand-in that records the origin groups the function asks for.
const groups = [];
const fn = vm.runInNewContext(
    `${source.slice(IMPORT.length)}\n;({ handler, INJECTOR_ORIGIN_ID, SITE_ORIGIN_ID, FAILOVER_STATUS_CODES })`,
    Object.assign(Object.create(null), {
        cf: {
            createRequestOriginGroup: (params) => groups.push(JSON.parse(JSON.stringify(params))),
            selectRequestOriginById: () => assert.fail('the function selects no single origin'),
            updateRequestOrigin: () => assert.fail('the function defines no origin'),
        },
    }),
);

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

/** Where the function sends a viewer request with these query pairs, and the query it keeps. */
function route(pairs, method = 'GET') {
    const request = {
        method,
        uri: '/blog/post',
        querystring: querystringOf(pairs),
        headers: { host: { value: 'www.example.com' } },
        cookies: { session: { value: 'abc' } },
    };
    groups.length = 0;
    const out = fn.handler({ version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '192.0.2.1' }, request });
    assert.equal(out, request, 'the function returns the request, never a response');
    assert.equal(out.uri, '/blog/post');
    assert.deepEqual(out.headers, { host: { value: 'www.example.com' } });
    assert.deepEqual(out.cookies, { session: { value: 'abc' } });
    assert.ok(groups.length <= 1, 'one origin group at most');
    return { origin: groups.length === 1 ? 'injector' : 'site', group: groups[0], querystring: out.querystring };
}

test('template.yaml embeds share-route.js verbatim', () => {
    assert.equal(
        embeddedFunctionCode('ShareRouteFunction'),
        source,
        'the FunctionCode block of ShareRouteFunction in infra/template.yaml differs from infra/cloudfront/share-route.js: copy the file into the block (indented)',
    );
});

test('the function starts with the cloudfront import and fits CloudFront\'s 10 KB', () => {
    assert.ok(source.startsWith(IMPORT), `CloudFront wants ${JSON.stringify(IMPORT)} as the first line`);
    assert.ok(Buffer.byteLength(source) <= 10 * 1024, `${Buffer.byteLength(source)} bytes`);
});

test('the origin ids are the site distribution\'s and the failover codes CloudFront\'s', () => {
    for (const id of [fn.INJECTOR_ORIGIN_ID, fn.SITE_ORIGIN_ID]) {
        assert.match(templateText, new RegExp(`^ +(- )?Id: ${id}$`, 'm'), `template.yaml has no origin ${id}`);
    }
    for (const code of fn.FAILOVER_STATUS_CODES) {
        assert.ok(FAILOVER_CODES_CLOUDFRONT_ALLOWS.includes(code), `CloudFront refuses ${code} as a failover code`);
    }
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
