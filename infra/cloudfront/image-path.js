// ogshot image distribution, viewer request (CloudFront Functions, cloudfront-js-2.0).
//
// Every path that does not name a card or the default image becomes /default.jpg, so
// junk paths share one cache entry and never reach S3 or the render function. The one
// other path let through is /robots.txt: Twitterbot reads the image host's robots.txt
// before it fetches a card, and the image service answers it with "allow all" (a JPEG
// there would be noise to every robots parser). It reads nothing but the raw path: no
// query string, header or cookie can change an answer.
//
// The rules are exactly those of shared-ids' ImagePath::parse (image_path.rs): an exact
// match on the raw path, no percent-decoding, no dot-segment removal, no case folding;
// ASCII digits only. cloudfront/image-path.test.mjs checks this file against the shared
// vectors (shared-ids/testdata/social-ids.json), checks DESIGN_TOKENS against
// shared-ids/src/design.rs, and checks that template.yaml embeds this file verbatim.

// CURRENT_DESIGN first, then EARLIER_DESIGNS, as in shared-ids/src/design.rs.
var DESIGN_TOKENS = ['v3', 'v2', 'v1'];

var DEFAULT_IMAGE_PATH = '/default.jpg';

var ROBOTS_PATH = '/robots.txt';

// '/' + 16-byte design token + '/' + 8-byte id + '.jpg': nothing longer is a card.
var MAX_CARD_PATH_LEN = 1 + 16 + 1 + 8 + 4;

// [0-9], not \d: an id has ASCII digits only. Anchored; linear-time on any input.
var ID_PATTERN = /^[0-9]{2}-[0-9]{2}-[0-9]{2}$/;

function isImagePath(path) {
    if (path === DEFAULT_IMAGE_PATH) {
        return true;
    }
    if (typeof path !== 'string' || path.length > MAX_CARD_PATH_LEN || path.charAt(0) !== '/') {
        return false;
    }
    var rest = path.slice(1);
    var slash = rest.indexOf('/');
    if (slash < 0) {
        return false;
    }
    var design = rest.slice(0, slash);
    var file = rest.slice(slash + 1);
    if (file.length !== 8 + 4 || file.slice(8) !== '.jpg') {
        return false;
    }
    return DESIGN_TOKENS.indexOf(design) !== -1 && ID_PATTERN.test(file.slice(0, 8));
}

function handler(event) {
    var request = event.request;
    if (request.uri !== ROBOTS_PATH && !isImagePath(request.uri)) {
        request.uri = DEFAULT_IMAGE_PATH;
    }
    return request;
}
