// Everything a visitor sees is drawn here, in the browser: a crawler that runs no
// JavaScript sees only index.html's head, which is why share tags must be put in by the
// injector. Text goes in through textContent only, so no query value becomes markup.
const app = document.getElementById("app");
const social = new URLSearchParams(location.search).get("social");
const valid = social !== null && /^\d{2}-\d{2}-\d{2}$/.test(social);

const heading = document.createElement("h1");
heading.textContent = valid ? `Tide table ${social}` : "Tide tables";
const text = document.createElement("p");
text.textContent = valid
  ? "This page was shared: crawlers saw its own card, put in by ogshot's injector."
  : "Pick a table to share. Its link carries ?social=<id>, and crawlers get that card.";
const list = document.createElement("ul");
for (const id of ["12-34-10", "01-02-03", "44-00-17"]) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = `/?social=${id}`;
  link.textContent = `Table ${id}`;
  item.append(link);
  list.append(item);
}
app.replaceChildren(heading, text, list);
