// The card's ready signal. The screenshotter awaits `window.ogshotReady` (and tests read
// html[data-ready]) instead of waiting for network idle: it resolves as soon as every
// face the card uses is loaded and every image is decoded, typically within a frame on
// a warm browser, where a fixed idle delay would cost hundreds of milliseconds.
window.ogshotReady = Promise.all([
  document.fonts.load('400 64px "Inter"'),
  document.fonts.load('800 64px "Inter"'),
  document.fonts.load('italic 800 64px "Inter"'),
  ...Array.from(document.images, (img) => img.decode().catch(() => undefined)),
])
  .then(() => document.fonts.ready)
  .then(() => new Promise((resolve) => requestAnimationFrame(() => resolve())))
  .then(() => {
    document.documentElement.dataset.ready = "true";
    return true;
  });
