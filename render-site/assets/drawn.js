// The capture's last wait, for a freshly loaded card and a swapped one alike:
// image-service's renderer calls this function expression once the card's document is
// final (after window.ogshotReady, or inside swap.js), with the frame tag when it
// captures by screencast. It resolves once every glyph of the card's text can be drawn
// in its own face, and scrolls to the tag in the next frame, the first one painted
// after that. It resolves to null, or to why the card must not be captured.
//
// Why layout is forced and the faces asked for again until none is pending: a face of
// another unicode-range is asked for only when layout shapes text in it, so before
// layout neither document.fonts.status nor FontFaceSet.check() knows the text needs it;
// and while a face loads (font-display: block), every run of text that needs it is
// painted invisible, so a frame painted then shows the card without that text.
// Not part of the design fingerprint: it never changes how a card looks, only when it
// is taken (the headline's fit it runs is the card's own, in ready.js, which is).
async (tag) => {
  const texts = () => {
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.nodeValue.trim() || !node.parentElement) continue;
      const style = getComputedStyle(node.parentElement);
      const font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      // What may be drawn as well as what is written: text-transform can need other
      // glyphs, and asking for more faces than layout uses costs only their fetch.
      const text = node.nodeValue;
      found.push({ element: node.parentElement, font, text: text + text.toUpperCase() + text.toLowerCase() });
    }
    return found;
  };
  const loading = () => Array.from(document.fonts).filter((face) => face.status === "loading");
  // Each pass waits for real loads; a card needs one or two (the faces layout asks for,
  // then any a relayout in them asks for).
  for (let pass = 0; pass < 4; pass++) {
    document.documentElement.getBoundingClientRect();
    const loads = loading().map((face) => face.loaded);
    for (const { font, text } of texts()) {
      if (!document.fonts.check(font, text)) loads.push(document.fonts.load(font, text));
    }
    if (loads.length === 0) break;
    await Promise.all(loads.map((load) => load.catch(() => undefined)));
  }
  await Promise.all(Array.from(document.images, (img) => img.decode().catch(() => undefined)));
  // The card's own layout step (`window.ogshotFit`, render-site/assets/ready.js), now
  // that its text is in its faces: it needs no other face, so what the verdict below
  // finds holds for its result.
  if (typeof window.ogshotFit === "function") window.ogshotFit();
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  if (typeof tag === "number" && window.scrollY !== tag) window.scrollTo(0, tag);
  // The verdict, on the state the next frame paints.
  document.documentElement.getBoundingClientRect();
  if (loading().length > 0) return "a font face was still loading";
  for (const { element, font, text } of texts()) {
    const where = `<${element.localName} class="${element.className}">`;
    if (!document.fonts.check(font, text)) return `a font face of the text in ${where} did not load`;
    // The block that lays the text out: an inline run past a line clamp has no box of
    // its own, and is still the card's text, clipped as designed.
    let block = element;
    while (block.parentElement && getComputedStyle(block).display.startsWith("inline")) block = block.parentElement;
    const box = block.getBoundingClientRect();
    if (!(box.width > 0 && box.height > 0)) return `the text in ${where} was not laid out`;
  }
  return null;
}
