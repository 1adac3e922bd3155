/* The search page (conf/_templates/search.html).
 *
 * Served over HTTP(S), it searches with Pagefind (pagefind/, written by
 * `citydiplo build`): the index comes in fragments and the snippets come
 * from the index, so a query fetches a few hundred kilobytes at most, and the
 * filters (kind of page, module, forum, language) narrow the results. Before
 * Pagefind's full-text results it shows the pages whose title or name (an
 * entry's name in any language, or its short name) is the query or holds all
 * its words: searchnames/<first two letters>.json, written by the build.
 *
 * A query that finds fewer than three pages, or no page by its name, is
 * corrected once: each word that no title or name holds is replaced by the
 * nearest word that one does (one typing mistake, two for words of six
 * letters or more: a letter added, missing, changed or two letters swapped).
 * The candidates are the words with the same first two letters (the shard
 * above) and those with the same last two letters (searchnames/end/<yz>.json,
 * words only), so a mistake in the first letters is found too. The corrected
 * query's results replace the first ones when there are more of them, or,
 * when the first query found no page by its name, when the corrected one does
 * and Pagefind did not find the word as typed (its own typo tolerance matched
 * another word: "Mayros" found "May").
 *
 * Where Pagefind cannot load (file://, where browsers block its modules, or a
 * site built without it) Sphinx's own search runs instead, and only then is
 * its scripts and its whole index (searchindex.js) fetched.
 *
 * Everything shown is set as text, except Pagefind's excerpts, which Pagefind
 * builds from the indexed text with only <mark> added.
 */
(() => {
  "use strict";
  const box = document.getElementById("pagefind-search");
  const sphinxResults = document.getElementById("search-results");
  if (!box) return;
  const root = new URL(box.dataset.root, window.location.href).href;
  const bundle = new URL(box.dataset.bundle, window.location.href).href;
  const words = JSON.parse(box.dataset.words);
  const params = new URLSearchParams(window.location.search);
  const PAGE = 6;
  const STOPWORDS = new Set(box.dataset.stopwords.split(" "));
  // the name table's files that exist (no request for one that does not)
  const NAME_KEYS = new Set((box.dataset.names || "").split(" "));
  const END_KEYS = new Set((box.dataset.ends || "").split(" "));

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    for (const child of children) node.append(child);
    return node;
  };

  const loadScript = (src) =>
    new Promise((resolve, reject) => {
      const script = el("script", { src });
      script.onload = resolve;
      script.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.appendChild(script);
    });

  const sphinxFallback = () => {
    box.hidden = true;
    sphinxResults.hidden = false;
    document.documentElement.dataset.search = "sphinx";
    // Sphinx's options and helpers, its language data and search, then its
    // index (which starts the query), one after the other
    [...box.dataset.sphinx.split(" "), box.dataset.index]
      .reduce((previous, src) => previous.then(() => loadScript(src)), Promise.resolve())
      .catch(() => {});
  };

  // the same as citydiplo.site.theme.normalise / word_key
  const normalise = (text) =>
    (text.normalize("NFKD").toLowerCase().replace(/\p{M}/gu, "").match(/[\p{L}\p{N}_]+/gu) || []).join(" ");
  const wordKey = (word) => (word.length > 3 && word.endsWith("s") ? word.slice(0, -1) : word);

  const shards = new Map();
  const load = (path, empty) => {
    if (!shards.has(path)) {
      shards.set(
        path,
        fetch(`${root}searchnames/${path}.json`)
          .then((r) => (r.ok ? r.json() : empty))
          .catch(() => empty),
      );
    }
    return shards.get(path);
  };
  /* Pages by the words of their names, for words starting with `key`. */
  const shard = async (key) =>
    NAME_KEYS.has(key) ? load(encodeURIComponent(key), { pages: [], words: {} }) : { pages: [], words: {} };
  /* The words of names ending in `key`, each with the number of pages it names. */
  const ends = async (key) => (END_KEYS.has(key) ? load(`end/${encodeURIComponent(key)}`, {}) : {});

  /* Pages whose name is the query, taken in turns with pages whose title or
   * name holds every word of it (the thing itself, then the guide to it).
   * Within each: how-to guides, then modules, then other pages, then entries,
   * then vocabulary terms; then by how early the query's first word comes in
   * the title, then shorter titles first. */
  const KIND_ORDER = [["how-to/", 0], ["modules/", 1], ["id/", 3], ["def/", 4]];
  const bestBets = async (query) => {
    const wanted = normalise(query);
    const keys = wanted.split(" ").filter((w) => w.length > 1 && !STOPWORDS.has(w)).map(wordKey);
    if (!keys.length) return [];
    const data = await shard(keys[0].slice(0, 2));
    const candidates = (data.words[keys[0]] || []).map((i) => data.pages[i]);
    const hits = [];
    for (const [url, title, kind, others] of candidates) {
      const names = [normalise(title), ...others]; // the file leaves out the title's own form
      const exact = names.includes(wanted);
      const all = names.some((name) => {
        const have = new Set(name.split(" ").map(wordKey));
        return keys.every((k) => have.has(k));
      });
      if (!exact && !all) continue;
      const order = (KIND_ORDER.find(([prefix]) => url.startsWith(prefix)) || ["", 2])[1];
      const position = names[0].split(" ").map(wordKey).indexOf(keys[0]);
      hits.push({ url, title, kind, rank: [exact ? 0 : 1, order, position < 0 ? 99 : position, names[0].length] });
    }
    const cmp = (a, b) => a.rank.reduce((d, value, i) => d || value - b.rank[i], 0);
    hits.sort(cmp);
    const exact = hits.filter((h) => h.rank[0] === 0);
    const partial = hits.filter((h) => h.rank[0] !== 0);
    const merged = [];
    for (let i = 0; i < Math.max(exact.length, partial.length); i++) merged.push(...[exact[i], partial[i]].filter(Boolean));
    return merged.slice(0, 4);
  };

  /* Optimal string alignment distance: insertions, deletions, substitutions
   * and swaps of two neighbouring letters each cost 1. */
  const distance = (a, b) => {
    const rows = [];
    for (let i = 0; i <= a.length; i++) rows.push([i, ...Array(b.length).fill(0)]);
    for (let j = 0; j <= b.length; j++) rows[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
        rows[i][j] = d;
      }
    }
    return rows[a.length][b.length];
  };

  /* The query with its unknown words replaced by the nearest known ones
   * ({query, replaced: [word as typed, its correction], …}), or null when there is nothing to
   * correct. Among equally near words, the one in the most titles and names
   * wins, then the first in alphabetical order. */
  const compare = (r, s) => r[0] - s[0] || r[1] - s[1] || (r[2] < s[2] ? -1 : r[2] > s[2] ? 1 : 0);
  const corrected = async (query) => {
    const replaced = [];
    const out = [];
    for (const word of normalise(query).split(" ").filter(Boolean)) {
      const key = wordKey(word);
      if (key.length < 4 || STOPWORDS.has(word)) {
        out.push(word);
        continue;
      }
      const [data, ending] = await Promise.all([shard(key.slice(0, 2)), ends(key.slice(-2))]);
      if (data.words[key]) {
        out.push(word);
        continue;
      }
      const candidates = new Map(Object.entries(ending));
      for (const [candidate, pages] of Object.entries(data.words)) candidates.set(candidate, pages.length);
      const limit = key.length >= 6 ? 2 : 1;
      let best = null;
      let bestRank = null;
      for (const [candidate, count] of candidates) {
        if (Math.abs(candidate.length - key.length) > limit) continue;
        const d = distance(key, candidate);
        if (d > limit) continue;
        const rank = [d, -count, candidate];
        if (bestRank === null || compare(rank, bestRank) < 0) {
          best = candidate;
          bestRank = rank;
        }
      }
      if (best === null) {
        out.push(word);
        continue;
      }
      // a plural stays plural ("Mayros" → "mayors"), as a name is written
      out.push(best + word.slice(key.length));
      replaced.push([word, best]);
    }
    return replaced.length ? { query: out.join(" "), replaced } : null;
  };

  /* Whether Pagefind found each of these words as typed (or a form of it:
   * "pledging" finds "pledge"), judged by what its first result marks; a
   * marked word that is the correction itself does not count ("Mechansim"
   * finds "mechanism": the correction changes nothing that Pagefind did). */
  const commonStart = (a, b) => {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return i;
  };
  const foundAsTyped = async (results, typed) => {
    if (!results.length) return false;
    const { excerpt } = await results[0].data();
    const marked = [...excerpt.matchAll(/<mark>(.*?)<\/mark>/g)].flatMap((m) => normalise(m[1]).split(" "));
    return typed.every(([word, correction]) =>
      marked.some((m) => wordKey(m) !== correction && commonStart(m, word) >= Math.min(word.length - 1, 5)),
    );
  };

  const start = async () => {
    if (window.location.protocol === "file:") throw new Error("Pagefind does not load from file://");
    const pagefind = await import(bundle + "pagefind.js"); // fails when the bundle is missing
    // on the page's own thread: the worker would be one more script to fetch
    await pagefind.options({ baseUrl: new URL(root).pathname, excerptLength: 24, noWorker: true });
    pagefind.init();
    sphinxResults.hidden = true;
    document.documentElement.dataset.search = "pagefind";

    const input = el("input", { type: "search", id: "cd-q", name: "q", autocomplete: "off" });
    input.value = params.get("q") || "";
    const form = el(
      "form",
      { class: "cd-search-form", role: "search", action: "" },
      el("label", { for: "cd-q" }, words.label),
      input,
      el("button", { type: "submit" }, words.button),
    );
    const filterBox = el("div", { class: "cd-search-filters" });
    const filterToggle = el("details", { class: "cd-search-filter-toggle" }, el("summary", {}, words.filter), filterBox);
    const status = el("p", { class: "cd-search-status", role: "status" });
    const list = el("ol", { class: "cd-search-results" });
    const more = el("button", { type: "button", class: "cd-search-more", hidden: "" }, words.more);
    box.append(form, filterToggle, status, list, more);

    // The filters' values are fetched when the reader opens them (or comes
    // with one set in the address), not with the first query.
    const selects = {};
    const FACETS = ["kind", "module", "forum", "language"];
    let filtersLoaded = null;
    const loadFilters = () => {
      filtersLoaded ??= pagefind.filters().then((available) => {
        for (const facet of FACETS) {
          const values = Object.keys(available[facet] || {}).sort((a, b) => a.localeCompare(b));
          if (!values.length) continue;
          const id = `cd-filter-${facet}`;
          const select = el("select", { id, name: facet }, el("option", { value: "" }, words.any));
          for (const value of values) select.append(el("option", { value }, value));
          select.value = params.get(facet) || "";
          selects[facet] = select;
          filterBox.append(el("span", { class: "cd-search-filter" }, el("label", { for: id }, words.filters[facet]), select));
          select.addEventListener("change", () => run());
        }
      });
      return filtersLoaded;
    };
    filterToggle.addEventListener("toggle", () => filterToggle.open && loadFilters());
    if (FACETS.some((facet) => params.get(facet))) {
      filterToggle.open = true;
      await loadFilters();
    }

    const item = (url, title, kind, excerpt) => {
      const li = el("li", { class: "cd-search-result" });
      const link = el("a", { href: url, class: "cd-search-result-link" });
      link.textContent = title;
      li.append(el("p", { class: "cd-search-result-title" }, link));
      if (kind) li.append(el("p", { class: "cd-search-result-kind" }, kind));
      if (excerpt) {
        const p = el("p", { class: "cd-search-result-excerpt" });
        p.innerHTML = excerpt; // Pagefind's excerpt: indexed text, with <mark> around the matches
        li.append(p);
      }
      return li;
    };

    let current = 0;
    const run = async () => {
      const run_id = ++current;
      const query = input.value.trim();
      const filters = {};
      for (const [facet, select] of Object.entries(selects)) if (select.value) filters[facet] = select.value;
      const url = new URL(window.location.href);
      url.search = new URLSearchParams({ q: query, ...filters }).toString();
      window.history.replaceState(null, "", url);
      list.replaceChildren();
      more.hidden = true;
      delete status.dataset.done; // set again once this query's results are all shown
      if (!query) {
        status.textContent = "";
        return;
      }
      status.textContent = words.searching;
      let found = await lookUp(query, filters);
      if (run_id !== current) return; // a newer query has started
      let used = query;
      // Few results, or none by name: if the query with its unknown words
      // corrected finds more, or finds pages by name where Pagefind only
      // guessed at the word, show those instead, and say so.
      if ((found.total < 3 || !found.bets.length) && !Object.keys(filters).length) {
        const better = await corrected(query);
        if (run_id !== current) return;
        if (better) {
          const other = await lookUp(better.query, filters);
          if (run_id !== current) return;
          const more = other.total > found.total && found.total < 3;
          const named = other.bets.length > 0 && !found.bets.length && !(await foundAsTyped(found.results, better.replaced));
          if (run_id !== current) return;
          if (more || named) [found, used] = [other, better.query];
        }
      }
      if ((await show(found, run_id)) === null) return;
      if (used !== query) {
        status.textContent = words.corrected
          .replace("{query}", query)
          .replace("{better}", used)
          .replace("{n}", String(found.total));
      } else {
        status.textContent = found.total ? words.found.replace("{n}", String(found.total)) : words.none;
      }
      status.dataset.done = "";
    };

    /* The best bets and Pagefind's results of one query, not yet shown. */
    const lookUp = async (query, filters) => {
      const [bets, search] = await Promise.all([
        Object.keys(filters).length ? [] : bestBets(query),
        pagefind.search(query, { filters }),
      ]);
      const results = search.results;
      const distinct = new Set([...bets.map((b) => b.url), ...results.map((r) => r.id)]).size;
      return { bets, results, total: distinct ? results.length || bets.length : 0 };
    };

    /* Show the results looked up; null when a newer query has started meanwhile. */
    const show = async ({ bets, results }, run_id) => {
      const shown = new Set();
      for (const bet of bets) {
        const href = root + bet.url;
        shown.add(new URL(href).pathname);
        list.append(item(href, bet.title, bet.kind, ""));
      }
      let next = 0;
      const page = async (size = PAGE) => {
        const slice = results.slice(next, next + size);
        next += size;
        const data = await Promise.all(slice.map((r) => r.data()));
        if (run_id !== current) return;
        for (const d of data) {
          const path = new URL(d.url, window.location.href).pathname;
          if (shown.has(path)) continue;
          shown.add(path);
          const kind = (d.filters.kind || [])[0] || "";
          list.append(item(d.url, (d.meta.title || d.url).replace(/¶$/, ""), kind, d.excerpt));
        }
        more.hidden = next >= results.length;
      };
      // the first screen: the pages by name, then Pagefind's results up to
      // PAGE in all (at least three of them); each costs a fragment
      await page(Math.max(3, PAGE - bets.length));
      if (run_id !== current) return null;
      more.onclick = () => page();
      return true;
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run();
    });
    await run();
    if (!input.value) input.focus();
  };

  start().catch(sphinxFallback);
})();
