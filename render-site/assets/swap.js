// The screenshotter's swap (image-service's renderer evaluates this file as a function
// expression and calls it with a card page's full URL and, when it captures by
// screencast, a frame tag): it replaces the live card with the card at `url` and
// resolves to true once it is ready to capture, or to false when `url` is not a card.
//
// It fetches the card page (same origin, so the session cookie goes along and the CSP
// allows it) and makes the live document the same as the fetched one, changing as
// little as it can, because Chromium re-rasterises only what changed: when the
// stylesheet is unchanged it keeps the <style> element (and with it the fonts already
// loaded), and when the body has the same shape as the live one (the same elements,
// only other text or attributes) it rewrites just the text and attributes that differ,
// so the background and every unchanged glyph keep their raster tiles; a differently
// shaped body is replaced whole, and a changed stylesheet (a designer's edit under
// --dev) replaces the whole <html>. It then waits as ready.js does (layout done, fonts
// loaded, images decoded, a frame drawn) without re-running ready.js, whose font probes
// would only repeat work. The result is the DOM that loading the card page builds,
// minus navigation and font loading; html[data-ready] is set as on a loaded card.
//
// Not served and not part of the design fingerprint: it never changes what a card
// looks like, which the end-to-end test of swapped against freshly loaded cards proves.
// The frame tag ties a screencast frame to this swap. A screencast sends a JPEG of every
// frame Chromium draws, with the root scroll offset of the compositor frame it copied,
// so the swap scrolls the page to `tag` once the card is ready: a frame whose scroll
// offset is `tag` shows this card, complete. To scroll without moving a pixel, the page
// is armed once with a sheet of its own (adopted, so no swap removes it): the body is
// fixed to the viewport and an invisible box below it gives the page room to scroll.
// The tag is set in the same task as the DOM change whenever nothing is left to load,
// so the frame that draws the card is the tagged one and no frame is encoded twice.
async (url, tag) => {
  const tagged = typeof tag === "number";
  if (tagged && !window.ogshotScrollSheet) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(
      "body { position: fixed; top: 0; left: 0; }" +
        'html::after { content: ""; position: absolute; top: 0; left: 0; width: 1px;' +
        " height: 10000px; visibility: hidden; }",
    );
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    window.ogshotScrollSheet = sheet;
  }
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) return false;
  const next = new DOMParser().parseFromString(await response.text(), "text/html");
  if (!next.documentElement.hasAttribute("data-design")) return false;
  const sameShape = (a, b) =>
    a.nodeName === b.nodeName &&
    a.childNodes.length === b.childNodes.length &&
    Array.from(a.childNodes).every((child, i) => sameShape(child, b.childNodes[i]));
  const syncAttributes = (a, b) => {
    for (const attr of [...a.attributes]) if (!b.hasAttribute(attr.name)) a.removeAttribute(attr.name);
    for (const attr of b.attributes) {
      if (a.getAttribute(attr.name) !== attr.value) a.setAttribute(attr.name, attr.value);
    }
  };
  const morph = (a, b) => {
    if (a.nodeType === Node.ELEMENT_NODE) syncAttributes(a, b);
    else if (a.nodeValue !== b.nodeValue) a.nodeValue = b.nodeValue;
    a.childNodes.forEach((child, i) => morph(child, b.childNodes[i]));
  };
  const style = document.head.querySelector("style");
  const nextStyle = next.head.querySelector("style");
  const root = document.documentElement;
  if (style && nextStyle && style.textContent === nextStyle.textContent) {
    syncAttributes(root, next.documentElement);
    for (const node of [...document.head.childNodes]) if (node !== style) node.remove();
    for (const node of [...next.head.childNodes]) {
      if (node !== nextStyle) document.head.insertBefore(document.adoptNode(node), style);
    }
    if (sameShape(document.body, next.body)) morph(document.body, next.body);
    else document.body.replaceWith(document.adoptNode(next.body));
  } else {
    document.replaceChild(document.adoptNode(next.documentElement), root);
  }
  document.body.getBoundingClientRect();
  // Layout has asked for every face the card needs: "loaded" means none is pending.
  if (tagged && document.fonts.status === "loaded" && document.images.length === 0) {
    window.scrollTo(0, tag);
  }
  await Promise.all(Array.from(document.images, (img) => img.decode().catch(() => undefined)));
  await document.fonts.ready;
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  if (tagged && window.scrollY !== tag) window.scrollTo(0, tag);
  document.documentElement.dataset.ready = "true";
  return true;
}
