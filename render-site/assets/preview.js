// The designers' pages (/preview, /preview/<id>): warns, visibly, when a live card has a
// character that no loaded font covers, so it would render as a tofu box. Each live card
// is a same-origin iframe (class "live"), followed by a <p class="glyphs"> that this
// fills in. A character counts as missing when it draws exactly like a code point no
// font has (U+10FFFD, private use), in the card's own font stack and document, so the
// card's web fonts and the system fallbacks take part as they do in the screenshot.
(() => {
  const NOWHERE = "\u{10FFFD}";
  const draw = (doc, font, text) => {
    const canvas = doc.createElement("canvas");
    canvas.width = 96;
    canvas.height = 96;
    const context = canvas.getContext("2d");
    context.font = font;
    context.textBaseline = "top";
    context.fillText(text, 8, 8);
    return context.getImageData(0, 0, 96, 96).data.join(",");
  };
  const check = async (frame) => {
    const doc = frame.contentDocument;
    const out = frame.closest("figure")?.querySelector(".glyphs");
    if (!doc || !out) return;
    await doc.fonts.ready;
    const runs = [];
    const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const style = doc.defaultView.getComputedStyle(node.parentElement);
      runs.push({ font: `${style.fontStyle} ${style.fontWeight} 48px ${style.fontFamily}`, text: node.nodeValue });
    }
    // A face of another unicode-range loads only once something asks for it: until
    // then the canvas draws its characters in a fallback, or as the box.
    await Promise.all(runs.map(({ font, text }) => doc.fonts.load(font, text).catch(() => undefined)));
    const missing = new Set();
    for (const { font, text } of runs) {
      const tofu = draw(doc, font, NOWHERE);
      for (const ch of new Set(Array.from(text))) {
        if (/\s/u.test(ch)) continue;
        if (draw(doc, font, ch) === tofu) missing.add(ch);
      }
    }
    const list = Array.from(missing);
    out.dataset.missingGlyphs = list.join("");
    out.textContent = list.length
      ? `⚠ No loaded font has ${list
          .map((ch) => `"${ch}" (U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")})`)
          .join(", ")}: it would show as a box.`
      : "";
    out.hidden = list.length === 0;
    out.dataset.checked = "true";
  };
  for (const frame of document.querySelectorAll("iframe.live")) {
    if (frame.contentDocument?.readyState === "complete") check(frame);
    frame.addEventListener("load", () => check(frame));
  }
})();
