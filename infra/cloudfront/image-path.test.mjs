// Tests the image distribution's CloudFront Function (image-path.js) with node's own
// test runner: `node --test infra/cloudfront/`. No npm packages.
//
// The function must classify paths exactly like shared-ids' ImagePath::parse, so it is
// driven by the same vectors file as the Rust tests, its design tokens are compared with
// shared-ids/src/design.rs, and template.yaml must embed this very code.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { embeddedFunctionCode } from './template-code.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const source = readFileSync(join(here, 'image-path.js'), 'utf8');
const vectors = JSON.parse(
    readFileSync(join(repo, 'shared-ids', 'testdata', 'social-ids.json'), 'utf8'),
);
const designRs = readFileSync(join(repo, 'shared-ids', 'src', 'design.rs'), 'utf8');

// Loaded as CloudFront loads it: a plain script defining `handler`, no module system.
const fn = vm.runInNewContext(
    `${source}\n;({ handler, isImagePath, DESIGN_TOKENS })`,
    Object.create(null),
);

/** What the function does to a viewer request for `uri`: the uri it forwards. */
function forwarded(uri) {
    const request = {
        method: 'GET',
        uri,
        querystring: { social: { value: 'ignored' } },
        headers: { host: { value: 'img.example.com' } },
        cookies: {},
    };
    const out = fn.handler({ version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '192.0.2.1' }, request });
    assert.equal(out, request, 'the function returns the request, never a response');
    assert.deepEqual(Object.keys(out).sort(), ['cookies', 'headers', 'method', 'querystring', 'uri']);
    return out.uri;
}

/** The design tokens of shared-ids/src/design.rs: CURRENT_DESIGN, then EARLIER_DESIGNS. */
function rustDesignTokens() {
    const current = /pub const CURRENT_DESIGN: DesignToken = DesignToken\("([a-z0-9]+)"\);/.exec(designRs);
    const earlier = /pub const EARLIER_DESIGNS: &\[DesignToken\] = &\[([^\]]*)\];/.exec(designRs);
    assert.ok(current && earlier, 'design.rs no longer declares CURRENT_DESIGN / EARLIER_DESIGNS as expected');
    const tokens = [...earlier[1].matchAll(/DesignToken\("([a-z0-9]+)"\)/g)].map((m) => m[1]);
    return [current[1], ...tokens];
}

/** The design every newly built image URL uses, so no path below names a token literally. */
const d = rustDesignTokens()[0];

/** The token a design bump issues next: one past the highest ever issued. */
const next = `v${Math.max(0, ...rustDesignTokens().map((token) => Number(token.slice(1)))) + 1}`;

test('template.yaml embeds image-path.js verbatim', () => {
    assert.equal(
        embeddedFunctionCode('ImagePathFunction'),
        source,
        'the FunctionCode block of ImagePathFunction in infra/template.yaml differs from infra/cloudfront/image-path.js: copy the file into the block (indented)',
    );
});

test('design tokens match shared-ids/src/design.rs', () => {
    assert.deepEqual(
        [...fn.DESIGN_TOKENS],
        rustDesignTokens(),
        'a design token was added or retired in shared-ids: update DESIGN_TOKENS in image-path.js and template.yaml',
    );
});

test('the default image path is kept', () => {
    assert.equal(forwarded('/default.jpg'), '/default.jpg');
});

test('every valid id is a card under every honoured design token', () => {
    assert.ok(vectors.valid.length >= 10);
    for (const token of rustDesignTokens()) {
        for (const id of vectors.valid) {
            const path = `/${token}/${id}.jpg`;
            assert.equal(forwarded(path), path, path);
        }
    }
});

test('every invalid id becomes the default image', () => {
    assert.ok(vectors.invalid.length >= 10);
    for (const { input, why } of vectors.invalid) {
        const path = `/${d}/${input}.jpg`;
        assert.equal(forwarded(path), '/default.jpg', `${why}: ${JSON.stringify(path)}`);
    }
});

test('hostile and near-miss paths become the default image', () => {
    const D = d.toUpperCase();
    const encoded = [...d].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('');
    const hostile = [
        '', '/', '//', `/${d}`, `/${d}/`, `/${d}/.jpg`, `/${d}/12-34-10`, `/${d}/12-34-10.`,
        `/${d}/12-34-10.JPG`, `/${d}/12-34-10.jpeg`, `/${d}/12-34-10.jpg/`, `/${d}/12-34-10.jpgx`,
        `/${d}/12-34-10.jpg.jpg`, `/${d}/12-34-10.jpg;.png`, `/${d}/12-34-10.jpg%00`,
        `/${d}/12-34-10.jpg\u0000`, `/${d}/12-34-10.jpg\n`, `/${d}/12-34-10.jpg?x=1`,
        `/${d}/12-34-10.jpg#x`, `/${d}//12-34-10.jpg`, `//${d}/12-34-10.jpg`, `/./${d}/12-34-10.jpg`,
        `/${d}/./12-34-10.jpg`, `/${d}/../${d}/12-34-10.jpg`, `/x/../${d}/12-34-10.jpg`,
        `/${d}/%31%32-34-10.jpg`, `/${d}/12-34-10%2Ejpg`, `/${d}%2F12-34-10.jpg`, `/${encoded}/12-34-10.jpg`,
        // Tokens that can never be issued (as shared_ids::design::never_issued), and the
        // next one, not issued yet.
        ...['v0', `v0${d.slice(1)}`, D, `${d}a`, 'current', next].map((t) => `/${t}/12-34-10.jpg`),
        `/${d} /12-34-10.jpg`, `/ ${d}/12-34-10.jpg`, `/${d}/12-34-1.jpg`, `/${d}/12-34-100.jpg`,
        `/${d}/１２-34-10.jpg`, `/${d}/١٢-٣٤-١٠.jpg`, `/${d}/12-34-10/12-34-10.jpg`,
        `/${d}/${d}/12-34-10.jpg`, `${d}/12-34-10.jpg`, `\\${d}\\12-34-10.jpg`,
        `/${d}\\12-34-10.jpg`,
        '/default.jpg/', '/Default.jpg', '//default.jpg', '/default.jpg%20', '/default.jpeg',
        '/./default.jpg', '/default.jpg\u0000', '/robots.txt/', '/Robots.txt', '/robots.txt%00',
        `/${d}/robots.txt`, '/healthz', '/favicon.ico',
        '/index.html', '/.env', '/wp-login.php', '/<script>alert(1)</script>.jpg',
        `/${'a'.repeat(16)}/12-34-10.jpg`, `/${'a'.repeat(17)}/12-34-10.jpg`,
        `/${d}/`.repeat(10_000), `/${d}/12-34-10.jpg${'/'.repeat(100_000)}`,
    ];
    for (const path of hostile) {
        assert.equal(forwarded(path), '/default.jpg', JSON.stringify(path.slice(0, 80)));
    }
});

test('/robots.txt alone passes through, for the image service to answer', () => {
    assert.equal(forwarded('/robots.txt'), '/robots.txt');
});
