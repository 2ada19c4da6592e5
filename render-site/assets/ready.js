// The card's own script, part of its design (in the design fingerprint, like card.css):
// the headline's fit, then the ready signal.
//
// `window.ogshotFit()` sets the headline at the largest whole px size, from card.css's
// --headline-size down to its --headline-floor, at which it fits the height its box
// has; a headline that does not fit at the floor is clamped there to the lines that do,
// ending in an ellipsis. It starts from the design size every time and measures only
// layout, so the same card in the same faces always gets the same size: it runs below
// once the faces are loaded, and the screenshotter's drawn.js runs it once more before
// every capture, a swapped card (whose text swap.js changed in place) as much as a
// loaded one.
(() => {
  const fit = () => {
    const box = document.querySelector(".headline");
    const text = box && box.querySelector(".headline-text");
    if (!text) return;
    text.style.removeProperty("font-size");
    text.style.removeProperty("-webkit-line-clamp");
    text.removeAttribute("data-clamped");
    const style = getComputedStyle(text);
    const design = Math.round(parseFloat(style.getPropertyValue("--headline-size")));
    const floor = Math.round(parseFloat(style.getPropertyValue("--headline-floor")));
    if (!(design >= floor && floor > 0)) return;
    const room = box.clientHeight;
    const fits = (size) => {
      text.style.fontSize = `${size}px`;
      return text.getBoundingClientRect().height <= room;
    };
    if (fits(design)) return;
    if (fits(floor)) {
      // Largest fitting size in (floor, design): `low` fits, `high` does not.
      let [low, high] = [floor, design];
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (fits(middle)) low = middle;
        else high = middle;
      }
      fits(low);
      return;
    }
    text.dataset.clamped = "";
    const line = parseFloat(style.lineHeight) || floor * 1.2;
    for (let lines = Math.max(1, Math.floor(room / line)); lines >= 1; lines--) {
      text.style.setProperty("-webkit-line-clamp", String(lines));
      if (text.getBoundingClientRect().height <= room) return;
    }
  };
  window.ogshotFit = fit;
  fit();
  // For a card looked at live (the designers' gallery): faces of other scripts arrive
  // after the first layout.
  document.fonts.addEventListener("loadingdone", fit);
})();

// The ready signal. The screenshotter awaits `window.ogshotReady` (and tests read
// html[data-ready]) instead of waiting for network idle: it resolves as soon as every
// face the card uses is loaded and every image is decoded, typically within a frame on
// a warm browser, where a fixed idle delay would cost hundreds of milliseconds. The
// headline is fitted in those faces before the signal.
window.ogshotReady = Promise.all([
  document.fonts.load('400 64px "Inter"'),
  document.fonts.load('800 64px "Inter"'),
  document.fonts.load('italic 800 64px "Inter"'),
  ...Array.from(document.images, (img) => img.decode().catch(() => undefined)),
])
  .then(() => document.fonts.ready)
  .then(() => window.ogshotFit())
  .then(() => new Promise((resolve) => requestAnimationFrame(() => resolve())))
  .then(() => {
    document.documentElement.dataset.ready = "true";
    return true;
  });
