// The search page: a small script over the same JSON API that apps call.
//
// The URL holds the query and every filter (?q=...&mode=...&since=...&source=...&where=f=v
// &sort=...&offset=...&after=...&article=ID), so a search can be bookmarked, shared and
// reloaded; every change is a history entry, so the back button works. What the server offers
// is read once from its OpenAPI schema: parts it lacks (facets, timeline, date sort, similar
// stories, export) stay hidden instead of failing. Archive text is only ever set with
// textContent, never parsed as HTML.
"use strict";
performance.mark("page-script"); // when the script starts (the speed test reports it)

const PAGE_SIZE = 10;
const FACET_FIELDS = ["source", "topics", "places", "category", "tags", "author"];
const FACET_SIZE = 8;
const KEY_STORE = "newsarchive.readKey";
const $ = (id) => document.getElementById(id);

let caps = null; // what this server offers, from /openapi.json
let stats = null; // /stats, for the header and the empty-archive page
let statsLoaded = null; // the pending /stats request
let generation = 0; // drops answers to requests that a newer navigation replaced

// The first search is sent before anything else, while the page sets itself up (its first
// layout, focus and number formats cost a busy browser tens of milliseconds).
let early = null; // {path, response}: taken by the first api() call for that path
try {
  const outline = JSON.parse($("api-outline").textContent);
  const s = readState(location.search);
  if (outline.paths && s.q && !s.article) {
    caps = capabilitiesFrom(outline);
    const path = "/search?" + searchParams(s).toString();
    early = { path, response: fetch(path, { headers: authHeaders() }) };
  }
} catch (error) {
  early = null; // no outline: render() reads the schema first
}

// ---------------------------------------------------------------- the URL is the state

function readState(search) {
  const p = new URLSearchParams(search);
  return {
    q: (p.get("q") || "").trim(),
    mode: p.get("mode") || "hybrid",
    sort: p.get("sort") || "relevance",
    since: p.get("since") || "",
    until: p.get("until") || "",
    source: p.getAll("source").filter(Boolean),
    where: p.getAll("where").filter((w) => w.includes("=")),
    offset: Math.max(0, parseInt(p.get("offset") || "0", 10) || 0),
    after: p.get("after") || "",
    article: p.get("article") || "",
  };
}

function stateQuery(s) {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  if (s.mode && s.mode !== "hybrid") p.set("mode", s.mode);
  if (s.sort && s.sort !== "relevance") p.set("sort", s.sort);
  if (s.since) p.set("since", s.since);
  if (s.until) p.set("until", s.until);
  s.source.forEach((v) => p.append("source", v));
  s.where.forEach((v) => p.append("where", v));
  if (s.offset) p.set("offset", String(s.offset));
  if (s.after) p.set("after", s.after);
  if (s.article) p.set("article", s.article);
  return p.toString();
}

const pageUrl = (s) => "/" + (stateQuery(s) ? "?" + stateQuery(s) : "");
const current = () => readState(location.search);

function go(changes) {
  // A new search or filter starts from its first page.
  const next = Object.assign(current(), changes);
  if (!("offset" in changes)) next.offset = 0;
  if (!("after" in changes)) next.after = "";
  if (!("article" in changes)) next.article = "";
  history.pushState(null, "", pageUrl(next));
  render();
}

// Links carry their target URL in href (so they can be opened in a new tab or bookmarked);
// a plain click is handled here without a reload.
function link(text, state, className) {
  const a = document.createElement("a");
  a.href = pageUrl(state);
  a.textContent = text;
  if (className) a.className = className;
  return a;
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[href^='/?'], a[href='/']");
  if (!a || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  const url = new URL(a.getAttribute("href"), location.href); // SVG links have no string href
  if (url.search !== location.search) history.pushState(null, "", url.pathname + url.search);
  render();
});
window.addEventListener("popstate", render);

// ---------------------------------------------------------------- talking to the API

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORE);
  return key ? { Authorization: "Bearer " + key } : {};
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path) {
  for (;;) {
    let response;
    if (early && early.path === path) {
      response = await early.response;
      early = null;
    } else {
      response = await fetch(path, { headers: authHeaders() });
    }
    if (response.status === 401) {
      await askForKey(sessionStorage.getItem(KEY_STORE) ? "That key was not accepted." : "");
      continue;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, body.error || response.statusText);
    return body;
  }
}

let keyPrompt = null;
function askForKey(message) {
  // One dialog for every request that needs it; they all retry when a key is given.
  if (keyPrompt) return keyPrompt;
  keyPrompt = new Promise((resolve) => {
    const dialog = $("key-dialog");
    $("key-error").textContent = message;
    $("key").value = "";
    dialog.addEventListener(
      "close",
      () => {
        const key = $("key").value.trim();
        if (key) sessionStorage.setItem(KEY_STORE, key);
        $("forget-key").hidden = !sessionStorage.getItem(KEY_STORE);
        keyPrompt = null;
        resolve();
      },
      { once: true },
    );
    dialog.showModal();
    $("key").focus();
  });
  return keyPrompt;
}

async function capabilities() {
  // The server embeds an outline of its OpenAPI schema in the page (search parameters, paths
  // and methods); a page served without one reads the schema itself.
  let outline = null;
  try {
    outline = JSON.parse($("api-outline").textContent);
  } catch (error) {
    outline = null;
  }
  if (!outline || !outline.paths) {
    const schema = await api("/openapi.json");
    const search = ((schema.paths || {})["/search"] || {}).get || {};
    outline = {
      search_params: (search.parameters || []).map((p) => p.name),
      paths: Object.fromEntries(Object.entries(schema.paths || {}).map(([k, v]) => [k, Object.keys(v)])),
    };
  }
  return capabilitiesFrom(outline);
}

function capabilitiesFrom(outline) {
  const params = new Set(outline.search_params);
  const has = (path, method) => (outline.paths[path] || []).includes(method);
  return {
    sort: params.has("sort"),
    after: params.has("after"),
    facets: has("/facets", "get"),
    timeline: has("/timeline", "get"),
    browse: has("/articles", "get"),
    similar: has("/articles/{article_id}/similar", "get"),
    export: has("/export", "get"),
  };
}

function filterParams(s) {
  const p = new URLSearchParams();
  if (s.since) p.set("since", s.since);
  if (s.until) p.set("until", s.until);
  s.source.forEach((v) => p.append("source", v));
  s.where.forEach((v) => p.append("where", v));
  return p;
}

function searchParams(s) {
  const p = filterParams(s);
  p.set("q", s.q);
  p.set("limit", String(PAGE_SIZE));
  if (s.mode !== "hybrid") p.set("mode", s.mode);
  if (caps.sort && s.sort !== "relevance") p.set("sort", s.sort);
  if (caps.after && s.after) p.set("after", s.after);
  else if (s.offset) p.set("offset", String(s.offset));
  return p;
}

function overviewParams(s) {
  // The whole matching set of the search (GET /facets, GET /timeline): query, mode, filters.
  const p = filterParams(s);
  if (s.q) p.set("q", s.q);
  if (s.q && s.mode !== "hybrid") p.set("mode", s.mode);
  return p;
}

async function overview(s) {
  // Facet counts and the timeline, asked for once the results are on screen: they count the
  // whole matching set, which costs more than one page of results.
  const facets = overviewParams(s);
  FACET_FIELDS.forEach((f) => facets.append("fields", f));
  facets.set("size", String(FACET_SIZE));
  const timeline = overviewParams(s);
  timeline.set("interval", "auto");
  const [f, t] = await Promise.all([
    caps.facets ? api("/facets?" + facets.toString()).catch(() => null) : null,
    caps.timeline ? api("/timeline?" + timeline.toString()).catch(() => null) : null,
  ]);
  return { facets: f && f.facets, timeline: t && t.timeline };
}

// ---------------------------------------------------------------- rendering

const fmt = new Intl.NumberFormat("en");
const plural = (n, one, many) => `${fmt.format(n)} ${n === 1 ? one : many}`;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function showView(name) {
  for (const view of ["search", "article", "empty", "home"]) $("view-" + view).hidden = view !== name;
  document.body.classList.toggle("reading", name === "article" || name === "empty");
}

function day(iso) {
  return iso ? iso.slice(0, 10) : "";
}

function syncForm(s) {
  $("q").value = s.q;
  $("mode").value = s.mode;
  $("sort").value = s.sort;
  $("since").value = day(s.since);
  $("until").value = day(s.until);
  $("source").value = s.source.length === 1 ? s.source[0] : "";
  document.title = s.q ? `${s.q} · newsarchive` : "newsarchive";
  $("search-title").textContent = s.q ? `Results for “${s.q}”` : "Articles";
}

function renderChips(s) {
  const chips = $("chips");
  chips.replaceChildren();
  const add = (label, without) => {
    const a = link(label, Object.assign({}, s, without, { offset: 0, after: "" }), "chip");
    a.setAttribute("aria-label", `Remove filter ${label}`);
    a.append(el("span", { "aria-hidden": "true", text: " ×" }));
    chips.append(el("li", {}, a));
  };
  if (s.since) add(`from ${day(s.since)}`, { since: "" });
  if (s.until) add(`to ${day(s.until)}`, { until: "" });
  s.source.forEach((v) => add(`source: ${v}`, { source: s.source.filter((x) => x !== v) }));
  s.where.forEach((w) => add(w.replace("=", ": "), { where: s.where.filter((x) => x !== w) }));
  $("active").hidden = !chips.children.length;
  const count = chips.children.length;
  $("filters-heading").textContent = count ? `Filters (${count} active)` : "Filters";
  $("clear").href = pageUrl({ ...readState(""), q: s.q, mode: s.mode, sort: s.sort });
}

function highlighted(text, spans) {
  const p = el("p", { class: "snippet" });
  let at = 0;
  for (const [start, end] of spans || []) {
    if (start < at) continue;
    p.append(text.slice(at, start), el("mark", { text: text.slice(start, end) }));
    at = end;
  }
  p.append(text.slice(at));
  return p;
}

function card(hit, s) {
  const a = hit.article;
  const title = link(a.title || `Untitled (${a.id})`, { ...s, article: a.id });
  const meta = el("p", { class: "meta" });
  const parts = [a.source, day(a.date), a.author].filter(Boolean);
  parts.forEach((part, i) => meta.append(i ? " · " : "", el("span", { text: part })));
  const li = el("li", { class: "card" }, el("h3", { class: "title" }, title), meta);
  li.append(highlighted(hit.snippet || hit.text || "", hit.highlights));
  if (hit.also_in && hit.also_in.length) {
    li.append(el("p", { class: "also", text: "Also in: " + hit.also_in.join(", ") }));
  }
  return li;
}

function renderStatus(s, body) {
  // "Results 11–20 of 312": what paging reaches (`pageable` in relevance order; in date order
  // the whole matching set), with the size of the matching set (`total`) when it differs.
  const shown = body.results.length;
  const ranked = typeof body.pageable === "number";
  const dated = s.sort !== "relevance" && caps.sort;
  let text;
  if (!shown && !s.offset && !s.after) {
    const filtered = s.since || s.until || s.source.length || s.where.length;
    text = `No results for “${s.q}”. ` + (filtered ? "Try removing a filter." : "Try other or fewer words.");
  }
  else if (dated) {
    const order = s.sort === "oldest" ? "oldest" : "newest";
    text = `${plural(body.total, "matching article", "matching articles")}, ${order} first`;
  } else {
    const of = ranked ? body.pageable : body.total;
    const first = s.offset + 1;
    text = `Results ${fmt.format(first)}–${fmt.format(first + shown - 1)} of ${fmt.format(of)}`;
    if (ranked && body.total !== body.pageable) {
      // The matching set (what facets, the timeline and exports count) holds the articles with
      // the query's words; results found by meaning alone can make the ranked list longer.
      text += ` · ${plural(body.total, "article matches", "articles match")} the words`;
    }
  }
  $("status").textContent = `${text} · ${Math.round(body.took_ms)} ms`;
}

function renderPager(s, body) {
  const nav = $("pager");
  nav.replaceChildren();
  const cursor = caps.after && s.sort !== "relevance";
  const reachable = typeof body.pageable === "number" && s.sort === "relevance" ? body.pageable : body.total;
  if (cursor) {
    if (s.after) nav.append(link("« First page", { ...s, after: "", offset: 0 }, "button"));
    if (body.next) nav.append(link("Next page »", { ...s, after: body.next, offset: 0 }, "button"));
  } else {
    const page = Math.floor(s.offset / PAGE_SIZE) + 1;
    const pages = Math.max(1, Math.ceil(reachable / PAGE_SIZE));
    if (s.offset > 0) {
      nav.append(link("« Previous", { ...s, offset: Math.max(0, s.offset - PAGE_SIZE) }, "button"));
    }
    nav.append(el("span", { class: "muted", text: `Page ${page} of ${fmt.format(pages)}` }));
    if (s.offset + PAGE_SIZE < reachable && body.results.length === PAGE_SIZE) {
      nav.append(link("Next »", { ...s, offset: s.offset + PAGE_SIZE }, "button"));
    }
  }
  nav.hidden = !nav.querySelector("a"); // a single page needs no pager
}

function renderFacets(s, facets) {
  const box = $("facets");
  box.replaceChildren();
  for (const [field, facet] of Object.entries(facets || {})) {
    if (!facet || !facet.values || !facet.values.length) continue;
    const list = el("ul");
    for (const { value, count } of facet.values) {
      const label = String(value);
      let target;
      if (field === "source") {
        const on = s.source.includes(label);
        target = { ...s, source: on ? s.source.filter((x) => x !== label) : [...s.source, label] };
      } else {
        const expr = `${field}=${label}`;
        const on = s.where.includes(expr);
        target = { ...s, where: on ? s.where.filter((x) => x !== expr) : [...s.where, expr] };
      }
      const active = field === "source" ? s.source.includes(label) : s.where.includes(`${field}=${label}`);
      const a = link("", { ...target, offset: 0, after: "" }, "facet" + (active ? " on" : ""));
      const counted = el("span", { class: "count", text: fmt.format(count) });
      counted.append(el("span", { class: "visually-hidden", text: count === 1 ? " article" : " articles" }));
      a.append(el("span", { class: "value", text: label }), counted);
      if (active) a.setAttribute("aria-current", "true");
      a.title = `${active ? "Remove this filter" : "Only"} ${field}: ${label}`;
      list.append(el("li", {}, a));
    }
    const extra = [];
    if (facet.other) extra.push(`${fmt.format(facet.other)} other`);
    if (facet.missing) extra.push(`${fmt.format(facet.missing)} without`);
    const section = el("section", { class: "facet", "data-field": field }, el("h3", { text: field }), list);
    if (extra.length) section.append(el("p", { class: "muted small", text: extra.join(" · ") }));
    box.append(section);
  }
}

// ---------------------------------------------------------------- the timeline

function bucketEnd(start, next, interval) {
  // The last day a bucket covers: the day before the next bucket, else by its interval.
  const d = new Date(start + "T00:00:00Z");
  if (next) return day(new Date(Date.parse(next + "T00:00:00Z") - 86400000).toISOString());
  if (interval === "week") d.setUTCDate(d.getUTCDate() + 6);
  else if (interval === "month") d.setUTCMonth(d.getUTCMonth() + 1, 0);
  else if (interval === "year") d.setUTCFullYear(d.getUTCFullYear(), 11, 31);
  return day(d.toISOString());
}

function bucketLabel(start, interval) {
  const d = new Date(start + "T00:00:00Z");
  const opts = { timeZone: "UTC" };
  if (interval === "year") return String(d.getUTCFullYear());
  if (interval === "month") return d.toLocaleDateString("en", { ...opts, month: "long", year: "numeric" });
  const text = d.toLocaleDateString("en", { ...opts, day: "numeric", month: "short", year: "numeric" });
  return interval === "week" ? `week of ${text}` : text;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function renderTimeline(s, timeline) {
  // Bars per period; each bar is a link to the same search narrowed to its period. The chart
  // is one Tab stop: arrow keys move between bars, Enter follows one.
  const section = $("timeline");
  const chart = $("timeline-chart");
  chart.replaceChildren();
  const buckets = (timeline && timeline.buckets) || [];
  section.hidden = buckets.length < 2 && !(buckets.length === 1 && buckets[0].count);
  if (section.hidden) return;
  const interval = timeline.interval;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const width = 1000;
  const height = 100;
  const step = width / buckets.length;
  const gap = step > 4 ? step * 0.12 : 0;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", class: "chart", role: "group" });
  root.setAttribute("aria-label", `Matching articles per ${interval}; arrow keys move between periods`);
  const ranges = buckets.map((b, i) => [b.start, bucketEnd(b.start, buckets[i + 1]?.start, interval)]);
  const bars = [];
  buckets.forEach((b, i) => {
    const [since, until] = ranges[i];
    const share = typeof b.share === "number" && b.all ? ` (${(100 * b.share).toFixed(1)}% of ${fmt.format(b.all)})` : "";
    const label = `${bucketLabel(b.start, interval)}: ${plural(b.count, "article", "articles")}${share}`;
    const a = svg("a", { href: pageUrl({ ...s, since, until, offset: 0, after: "", article: "" }), tabindex: i ? -1 : 0 });
    a.setAttribute("aria-label", label);
    a.dataset.index = String(i);
    const h = b.count ? Math.max(3, (b.count / max) * (height - 2)) : 0;
    a.append(svg("rect", { x: i * step, y: 0, width: step, height, class: "hit" }));
    a.append(svg("rect", { x: i * step + gap / 2, y: height - 2, width: step - gap, height: 2, class: "base" }));
    a.append(svg("rect", { x: i * step + gap / 2, y: height - h, width: step - gap, height: h, class: "bar" }));
    const title = svg("title");
    title.textContent = label;
    a.append(title);
    root.append(a);
    bars.push(a);
  });
  chart.append(root);
  $("timeline-from").textContent = day(buckets[0].start);
  $("timeline-to").textContent = ranges[ranges.length - 1][1];
  const undated = timeline.undated ? ` ${plural(timeline.undated, "undated article", "undated articles")} not shown.` : "";
  $("timeline-help").textContent =
    `Per ${interval}, the tallest bar ${plural(max, "article", "articles")}. ` +
    `Click a bar, or drag across bars, to narrow the dates.${undated}`;

  root.addEventListener("keydown", (event) => {
    const at = bars.indexOf(document.activeElement);
    const moves = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: bars.length - 1 };
    if (at < 0 || !(event.key in moves)) return;
    const next = bars[Math.max(0, Math.min(bars.length - 1, moves[event.key]))];
    bars.forEach((bar) => bar.setAttribute("tabindex", bar === next ? "0" : "-1"));
    next.focus();
    event.preventDefault();
  });

  // Dragging across bars selects the span from the first to the last bar touched.
  let from = null;
  let to = null;
  const indexAt = (event) => {
    const target = document.elementFromPoint(event.clientX, event.clientY);
    const a = target && target.closest("a[data-index]");
    return a && root.contains(a) ? Number(a.dataset.index) : null;
  };
  const paint = () => bars.forEach((a, i) => a.classList.toggle("selecting", from !== null && i >= Math.min(from, to) && i <= Math.max(from, to)));
  root.addEventListener("pointerdown", (event) => {
    const i = indexAt(event);
    if (i === null || event.button !== 0) return;
    from = to = i;
    root.setPointerCapture(event.pointerId);
    paint();
    event.preventDefault();
  });
  root.addEventListener("pointermove", (event) => {
    if (from === null) return;
    const i = indexAt(event);
    if (i !== null && i !== to) {
      to = i;
      paint();
    }
  });
  root.addEventListener("pointerup", () => {
    if (from === null) return;
    const lo = Math.min(from, to);
    const hi = Math.max(from, to);
    from = to = null;
    paint();
    go({ since: ranges[lo][0], until: ranges[hi][1] });
  });
  root.addEventListener("click", (event) => {
    // Pointer clicks are handled by pointerup; Enter on a focused bar follows its link.
    if (event.detail !== 0) event.preventDefault();
  });
}

// ---------------------------------------------------------------- the views

async function runSearch(s, ticket) {
  showView("search");
  $("status").textContent = "Searching…";
  // The timeline keeps its place (the previous chart, or an empty frame) until the new one
  // arrives, so the results do not jump down when it does.
  if (caps.timeline && $("timeline").hidden) {
    $("timeline").hidden = false;
    $("timeline-chart").replaceChildren(svg("svg", { class: "chart", "aria-hidden": "true" }));
    $("timeline-help").textContent = "Counting…";
    for (const id of ["timeline-from", "timeline-to"]) $(id).textContent = "";
  }
  let body;
  try {
    body = await api("/search?" + searchParams(s).toString());
  } catch (error) {
    if (ticket !== generation) return;
    $("status").textContent = `The search failed: ${error.message}`;
    $("results").replaceChildren();
    $("pager").hidden = true;
    $("timeline").hidden = true;
    return;
  }
  if (ticket !== generation) return;
  const results = $("results");
  const cards = body.results.map((hit) => card(hit, s));
  // Element Timing reports when the first result is painted (the page's speed test reads it).
  cards[0]?.querySelector(".title").setAttribute("elementtiming", "first-result");
  results.replaceChildren(...cards);
  renderStatus(s, body);
  renderPager(s, body);
  renderSourceChoice(s, !caps.facets);
  renderExport(s);
  if (!performance.getEntriesByName("results-visible").length && body.results.length) {
    requestAnimationFrame(() => setTimeout(() => performance.mark("results-visible"), 0));
  }
  if (!caps.facets && !caps.timeline) return;
  if (!body.results.length && !s.offset && !s.after) {
    renderFacets(s, null);
    renderTimeline(s, null);
    return;
  }
  const more = await overview(s);
  if (ticket !== generation) return;
  renderFacets(s, more.facets);
  renderTimeline(s, more.timeline);
  if (!more.facets || !more.facets.source) renderSourceChoice(s, true);
}

let sourceChoiceWanted = true;
function renderSourceChoice(s, wanted) {
  // Without source facets, a plain choice of the archive's sources (from /stats).
  sourceChoiceWanted = wanted;
  const field = $("source-field");
  const sources = stats ? Object.entries(stats.sources || {}) : [];
  field.hidden = !wanted || sources.length < 2;
  if (field.hidden) return;
  const select = $("source");
  select.replaceChildren(el("option", { value: "", text: "Any source" }));
  for (const [name, count] of sources) {
    select.append(el("option", { value: name, text: `${name} (${fmt.format(count)})` }));
  }
  select.value = s.source.length === 1 ? s.source[0] : "";
}

function renderExport(s) {
  $("export").hidden = !caps.export;
  if (!caps.export) return;
  for (const format of ["csv", "jsonl"]) {
    const p = filterParams(s);
    if (s.q) p.set("q", s.q);
    if (s.q && s.mode !== "hybrid") p.set("mode", s.mode);
    if (caps.sort && s.sort !== "relevance") p.set("sort", s.sort);
    p.set("format", format);
    const a = $("export-" + format);
    a.href = "/export?" + p.toString();
    a.setAttribute("download", `newsarchive-export.${format}`);
    a.setAttribute("aria-label", `Export every matching article as ${format.toUpperCase()}`);
  }
}

document.addEventListener("click", async (event) => {
  // With a read key, a download must carry the Authorization header: fetch it, then save it.
  const a = event.target.closest("#export a");
  if (!a || !sessionStorage.getItem(KEY_STORE)) return;
  event.preventDefault();
  const response = await fetch(a.href, { headers: authHeaders() });
  if (!response.ok) {
    $("status").textContent = `The export failed (${response.status}).`;
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const save = el("a", { href: url, download: a.getAttribute("download") });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
});

async function showArticle(s, ticket) {
  showView("article");
  const back = { ...s, article: "" };
  $("back").href = pageUrl(back);
  $("back").textContent = s.q ? `← Back to results for “${s.q}”` : "← Back";
  let article;
  try {
    article = await api("/articles/" + encodeURIComponent(s.article));
  } catch (error) {
    if (ticket !== generation) return;
    $("article-title").textContent = error.status === 404 ? "No such article" : "The article could not be loaded";
    $("article-meta").textContent = error.message;
    for (const id of ["article-link", "article-body", "article-metadata", "copies-list", "similar-list"]) $(id).replaceChildren();
    $("article-copies").hidden = $("similar").hidden = $("article-details").hidden = true;
    return;
  }
  if (ticket !== generation) return;
  document.title = `${article.title || article.id} · newsarchive`;
  $("article-title").textContent = article.title || article.id;
  const meta = [article.source, day(article.date) || article.date_raw, article.author].filter(Boolean);
  $("article-meta").textContent = meta.join(" · ");
  $("article-link").replaceChildren();
  if (article.url && /^https?:\/\//i.test(article.url)) {
    $("article-link").append(el("a", { href: article.url, rel: "noopener noreferrer", text: "Original page" }));
  }
  const words = s.q.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) || [];
  $("article-body").replaceChildren(...article.passages.map((p) => markWords(p.text, words)));
  const details = $("article-metadata");
  details.replaceChildren();
  const rows = { id: article.id, ...(article.metadata || {}) };
  for (const [key, value] of Object.entries(rows)) {
    if (value == null || value === "" || (Array.isArray(value) && !value.length)) continue;
    const text = Array.isArray(value) ? value.join(", ") : typeof value === "object" ? JSON.stringify(value) : String(value);
    details.append(el("dt", { text: key }), el("dd", { text }));
  }
  $("article-details").hidden = false;
  const copies = article.copies || [];
  $("article-copies").hidden = !copies.length;
  $("copies-list").replaceChildren(
    ...copies.map((c) => {
      const label = [c.source, day(c.date)].filter(Boolean).join(", ") || c.id;
      const item = c.kind === "near" ? link(c.title || c.id, { ...back, article: c.id }) : el("span", { text: c.title || c.id });
      return el("li", {}, item, el("span", { class: "muted", text: ` (${label}; ${c.kind === "near" ? "edited copy" : "same text"})` }));
    }),
  );
  $("article-title").focus();
  $("similar").hidden = true;
  if (caps.similar) {
    try {
      const similar = await api(`/articles/${encodeURIComponent(article.id)}/similar?limit=5`);
      if (ticket !== generation) return;
      $("similar-list").replaceChildren(...(similar.results || []).map((hit) => card(hit, back)));
      $("similar").hidden = !(similar.results || []).length;
    } catch (error) {
      $("similar").hidden = true;
    }
  }
}

function markWords(text, words) {
  // The article's paragraphs with the query's words marked (whole words, any case).
  const p = el("p");
  if (!words.length) {
    p.textContent = text;
    return p;
  }
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join("|")})[\\p{L}]*`, "giu");
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    p.append(text.slice(at, match.index), el("mark", { text: match[0] }));
    at = match.index + match[0].length;
  }
  p.append(text.slice(at));
  return p;
}

async function showBrowse(s, ticket) {
  // No query: the newest articles passing the filters, when the server can list them.
  showView("search");
  const p = filterParams(s);
  p.set("sort", s.sort === "oldest" ? "oldest" : "newest");
  p.set("limit", String(PAGE_SIZE));
  if (s.after) p.set("after", s.after);
  let body;
  try {
    body = await api("/articles?" + p.toString());
  } catch (error) {
    if (ticket === generation) $("status").textContent = `Could not list articles: ${error.message}`;
    return;
  }
  if (ticket !== generation) return;
  $("timeline").hidden = true;
  $("facets").replaceChildren();
  const hits = body.results.map((a) => ({ article: a, snippet: "", also_in: a.also_in || [] }));
  $("results").replaceChildren(...hits.map((hit) => card(hit, s)));
  $("status").textContent = `${plural(body.total, "article", "articles")}, ${s.sort === "oldest" ? "oldest" : "newest"} first`;
  const nav = $("pager");
  nav.replaceChildren();
  if (s.after) nav.append(link("« First page", { ...s, after: "" }, "button"));
  if (body.next) nav.append(link("Next page »", { ...s, after: body.next }, "button"));
  nav.hidden = !nav.children.length;
  renderSourceChoice(s, true);
  renderExport(s);
}

function showHome() {
  showView("home");
  const box = $("home-stats");
  box.replaceChildren();
  if (!stats) return;
  const sources = Object.entries(stats.sources || {});
  if (sources.length) {
    const list = el("ul", { class: "sources" });
    for (const [name, count] of sources) {
      // With browsing (GET /articles), a source lists its newest articles.
      const label = caps.browse ? link(name, { ...readState(""), source: [name] }) : el("span", { text: name });
      list.append(el("li", {}, label, el("span", { class: "muted", text: ` ${fmt.format(count)}` })));
    }
    box.append(el("h2", { text: "Sources" }), list);
  }
}

function showEmpty() {
  showView("empty");
  $("origin").textContent = location.origin;
  $("empty-path").textContent = stats && stats.path ? `Archive folder: ${stats.path}` : "";
}

async function loadStats() {
  // The header's counts and the empty-archive page; an empty archive replaces a search too.
  stats = await api("/stats").catch(() => null);
  $("archive-info").textContent = stats ? archiveLine(stats) : "";
  if (stats && stats.articles === 0) showEmpty();
  else if (stats) renderSourceChoice(current(), sourceChoiceWanted);
}

function archiveLine(st) {
  const span = st.first_date ? `, ${day(st.first_date)} to ${day(st.last_date)}` : "";
  return `${plural(st.articles, "article", "articles")}${span}`;
}

async function render() {
  // aria-busy marks the results as being replaced (assistive technology, and the tests).
  const ticket = ++generation;
  $("main").setAttribute("aria-busy", "true");
  try {
    await renderState(current(), ticket);
  } finally {
    if (ticket === generation) $("main").setAttribute("aria-busy", "false");
  }
}

async function renderState(s, ticket) {
  syncForm(s);
  renderChips(s);
  if (!caps) {
    try {
      caps = await capabilities();
    } catch (error) {
      $("status").textContent = `The archive cannot be reached: ${error.message}`;
      return;
    }
  }
  $("sort-field").hidden = !caps.sort;
  if (s.q || s.article) {
    // The counts (header, empty archive) are asked for after the first answer, so that they
    // do not compete with it for the server.
    if (s.article) await showArticle(s, ticket);
    else await runSearch(s, ticket);
    if (!statsLoaded) statsLoaded = loadStats();
    return;
  }
  if (!statsLoaded) statsLoaded = loadStats();
  await statsLoaded;
  if (ticket !== generation) return;
  if (stats && stats.articles === 0) return showEmpty();
  $("results").replaceChildren();
  if (caps.browse && (s.since || s.until || s.source.length || s.where.length || s.after)) {
    return showBrowse(s, ticket);
  }
  renderSourceChoice(s, true);
  $("export").hidden = true;
  $("facets").replaceChildren();
  showHome();
}

// ---------------------------------------------------------------- the forms

function formChanges() {
  const source = $("source").value;
  const changes = {
    q: $("q").value.trim(),
    mode: $("mode").value,
    sort: $("sort").value,
    since: $("since").value,
    until: $("until").value,
  };
  if (!$("source-field").hidden) changes.source = source ? [source] : [];
  return changes;
}

// A control's change applies at once, unless it only echoes what the URL already says (a
// date field that was updated from the URL may fire change when it loses focus).
function changed() {
  const s = current();
  const c = formChanges();
  const sources = c.source || s.source;
  return (
    c.mode !== s.mode || c.sort !== s.sort || c.since !== day(s.since) || c.until !== day(s.until) ||
    sources.join("\n") !== s.source.join("\n")
  );
}
// The script runs as soon as it arrives (async), to send the first search early; the page's
// controls are wired once the document is parsed.
function start() {
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    go(formChanges());
  });
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    go(formChanges());
  });
  for (const id of ["mode", "sort", "source"]) {
    $(id).addEventListener("change", () => changed() && go(formChanges()));
  }
  for (const id of ["since", "until"]) {
    $(id).addEventListener("change", (event) => {
      // Typing a date fires change per keystroke; apply only whole dates (or a cleared field).
      const value = event.target.value;
      if ((!value || /^\d{4}-\d{2}-\d{2}$/.test(value)) && changed()) go(formChanges());
    });
  }
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORE);
    $("forget-key").hidden = true;
  });
  $("forget-key").hidden = !sessionStorage.getItem(KEY_STORE);
  document.querySelector(".skip").addEventListener("click", (event) => {
    event.preventDefault();
    $("results-heading").focus();
  });

  if (window.matchMedia("(max-width: 720px)").matches) $("filters-box").open = false;
  if (!current().article) $("q").focus();
  render();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
