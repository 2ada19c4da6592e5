// Everything a visitor sees is drawn here, in the browser: a crawler that runs no
// JavaScript sees only index.html's head, the same for every route, which is why share
// tags must be put in by the injector. Text goes in through textContent only, so no part
// of the URL becomes markup; the path only picks a view by exact match.
const app = document.getElementById("app");
const tables = ["12-34-10", "01-02-03", "44-00-17"];
const homeTitle = document.title;

// The client-side routes. A deep link such as /blog/launch-week?social=12-34-10 reaches
// this script only when the host answers unknown paths with index.html (main-site's
// --spa switch); the History API then keeps the address bar on the route.
const routes = new Map([
  ["/", {
    title: "Tide tables",
    text: "Pick a table to share. Its link carries ?social=<id>, and crawlers get that card.",
    links: tables.map((id) => [`/?social=${id}`, `Table ${id}`]),
  }],
  ["/pricing", {
    title: "Pricing",
    text: "Every harbour's tables are free to read; a port pays for its own gauges only.",
    links: [["/blog/launch-week", "Read why in the launch-week post"]],
  }],
  ["/blog/launch-week", {
    title: "Launch week",
    text: "This week every port's tide tables went online, one page and one card per table.",
    links: tables.map((id) => [`/blog/launch-week?social=${id}`, `Share this post as table ${id}`]),
  }],
]);
const notFound = {
  title: "Not found",
  text: "There is no such page here.",
  links: [["/", "Back to the tide tables"]],
};

function link(href, text) {
  const anchor = document.createElement("a");
  anchor.href = href;
  anchor.textContent = text;
  return anchor;
}

function render() {
  const view = routes.get(location.pathname) ?? notFound;
  const social = new URLSearchParams(location.search).get("social");
  const shared = social !== null && /^\d{2}-\d{2}-\d{2}$/.test(social);

  const nav = document.createElement("nav");
  nav.append(link("/", "Tables"), link("/pricing", "Pricing"), link("/blog/launch-week", "Blog"));
  const heading = document.createElement("h1");
  heading.textContent = view.title;
  const text = document.createElement("p");
  text.textContent = view.text;
  const list = document.createElement("ul");
  for (const [href, label] of view.links) {
    const item = document.createElement("li");
    item.append(link(href, label));
    list.append(item);
  }
  const parts = [nav, heading, text, list];
  if (shared) {
    const note = document.createElement("p");
    note.className = "shared";
    note.textContent = `This page was shared as table ${social}: crawlers saw its own card, put in by ogshot's injector.`;
    parts.splice(2, 0, note);
  }
  app.replaceChildren(...parts);
  document.title = location.pathname === "/" ? homeTitle : `${view.title} — Tide tables`;
}

// Same-origin links move between routes without a page load; a modified click (new tab)
// and links elsewhere keep the browser's own behaviour.
document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a");
  if (!anchor || anchor.origin !== location.origin || event.button !== 0
      || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  event.preventDefault();
  history.pushState(null, "", anchor.href);
  render();
});
window.addEventListener("popstate", render);
render();
