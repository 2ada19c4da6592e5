// The screenshotter's swap: image-service's renderer evaluates this file as a function
// expression and calls it with a card page's full URL, a frame tag when it captures by
// screencast, the [design, id] it expects and drawn.js. It replaces the live card with
// the card at `url` and resolves to that card's [design, id, verdict] once it is ready
// to capture (another design or id is refused untouched, as [design, id]), or to false
// when `url` is not a card; the verdict is drawn.js's.
//
// It fetches the card page (same origin, so the session cookie goes along and the CSP
// allows it) and changes as little of the live document as it can, because Chromium
// re-rasterises only what changed: an unchanged stylesheet keeps its <style> element
// and the fonts already loaded; a body of the same shape gets only its differing text
// and attributes rewritten; anything else is replaced whole. It then waits with
// drawn.js until the text is drawn in its faces. The result is the DOM that loading the
// card page builds; the end-to-end test of swapped against freshly loaded cards proves
// it, which is why this file is not part of the design fingerprint.
//
// The frame tag is explained in image-service/src/browser/screencast.rs. To scroll
// without moving a pixel, the page is armed once with an adopted sheet of its own: the
// body is fixed to the viewport and an invisible box gives the page room to scroll.
async (url, tag, expected, drawn) => {
  const tagged = typeof tag === "number";
  // A scroll to where the page already is draws no frame, and the frame of the card
  // before would carry the tag.
  if (tagged && window.scrollY === tag) throw new Error(`the page is already scrolled to ${tag}`);
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
  const shown = [next.documentElement.dataset.design, next.documentElement.dataset.id];
  // Another design or id is never swapped in, so no frame of it is ever tagged.
  if (shown[0] !== expected[0] || shown[1] !== expected[1]) return shown;
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
  const verdict = await drawn(tag);
  document.documentElement.dataset.ready = "true";
  return [document.documentElement.dataset.design, document.documentElement.dataset.id, verdict];
}
