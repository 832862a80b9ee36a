// @ts-check
/**
 * The dashboard page's script (served inline by page.ts under a per-response CSP nonce; checked by
 * `tsc -p src/admin/dashboard/tsconfig.client.json`). It opens the event stream, keeps the
 * per-second history it receives, and draws: per balancer a header with its figures and the
 * shares of new sessions and sticky traffic per route, three charts over the last minutes
 * (requests per second by member, p50/p99, busy), and a table of members with their state in
 * colour; beside it the timeline of events.
 *
 * No framework and no markup from data: elements are built with createElement and every value
 * goes in as text (a route that looks like markup shows as those characters). Charts are SVG paths drawn
 * here. Nothing is fetched from anywhere but this origin.
 */
(() => {
  'use strict';

  /** @typedef {import('./model.js').Snapshot} Snapshot */
  /** @typedef {import('./model.js').Update} Update */
  /** @typedef {import('./model.js').BalancerDoc} BalancerDoc */
  /** @typedef {import('./model.js').MemberDoc} MemberDoc */
  /** @typedef {import('./model.js').DashboardEvent} DashboardEvent */
  /** @typedef {import('./model.js').SeriesDoc} SeriesDoc */
  /** @typedef {SeriesDoc['balancers'][string]} BalancerSeries */

  const SVG = 'http://www.w3.org/2000/svg';
  /** Member colours, in member order (red and green stay for errors and health). */
  const PALETTE = ['#4c7fd0', '#f08c2e', '#9b6ccf', '#20a5a0', '#d6a900', '#c0587e', '#7f8c3a', '#8a6a52'];
  /** @type {Record<string, string>} */
  const STATE_LABEL = { ok: 'OK', error: 'ERROR', hcfail: 'HC FAIL', draining: 'DRAINING', standby: 'STANDBY', disabled: 'DISABLED', stopped: 'STOPPED' };
  /** @type {Record<string, string>} */
  const KIND_LABEL = {
    error: 'in error',
    'error-again': 'retry failed',
    recovered: 'recovered',
    hcfail: 'health check',
    hcpass: 'health check',
    changed: 'changed',
    added: 'added',
    removed: 'removed',
    reload: 'reload',
    'reload-failed': 'reload refused',
    'worker-restart': 'worker',
  };

  /** @type {Snapshot | null} */
  let snap = null;
  /** Server clock minus this clock. */
  let offset = 0;
  /** @type {SeriesDoc} */
  let history = { t: [], balancers: {} };
  /** @type {DashboardEvent[]} */
  let events = [];
  let maxSeq = 0;
  let lastMessage = 0;

  // ---------------------------------------------------------------- helpers

  /** @param {string} id */
  function byId(id) {
    const e = document.getElementById(id);
    if (e === null) throw new Error(`#${id} is missing`);
    return e;
  }

  /**
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {string} [cls]
   * @param {string} [text]
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /**
   * @param {string} tag
   * @param {Record<string, string | number>} [attrs]
   * @returns {SVGElement}
   */
  function svg(tag, attrs = {}) {
    const e = /** @type {SVGElement} */ (document.createElementNS(SVG, tag));
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }

  /** @param {Element} e @param {string} text */
  function setText(e, text) {
    if (e.textContent !== text) e.textContent = text;
  }

  const now = () => Date.now() + offset;

  /** @param {number} n */
  const count = (n) => n.toLocaleString('en-US');

  /** @param {number} r */
  function rate(r) {
    if (r === 0) return '0';
    if (r < 10) return r.toFixed(2);
    if (r < 100) return r.toFixed(1);
    return count(Math.round(r));
  }

  /** @param {number | null} ms */
  function millis(ms) {
    if (ms === null) return '–';
    if (ms < 1) return `${ms.toFixed(2)} ms`;
    if (ms < 10) return `${ms.toFixed(1)} ms`;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  }

  /** @param {number} ms */
  function age(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  /** @param {number | null} x */
  const percent = (x) => (x === null ? '–' : `${Math.round(x * 100)} %`);

  /** @param {number} t */
  const clock = (t) => new Date(t).toLocaleTimeString('en-GB', { hour12: false });

  /** @param {Record<string, number>} errors */
  function errorText(errors) {
    const parts = Object.entries(errors)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, n]) => `${kind} ${count(n)}`);
    return parts.join(' · ');
  }

  /** @param {Record<string, number>} errors */
  const errorSum = (errors) => Object.values(errors).reduce((a, b) => a + b, 0);

  /** @param {number} i */
  const colour = (i) => PALETTE[i % PALETTE.length] ?? '#888';

  /**
   * How far back the charts reach: 1, 2, 5 or 10 minutes, the shortest that holds the history
   * (a page opened a moment ago shows its first minute across the whole chart, not as a sliver).
   */
  function chartSpan() {
    const full = (snap?.capacity ?? 600) * (snap?.intervalMs ?? 1000);
    const first = history.t[0];
    const covered = first === undefined ? 0 : now() - first + 2000;
    for (const m of [1, 2, 5, 10, 30, 60]) if (m * 60_000 >= covered) return Math.min(full, m * 60_000);
    return full;
  }

  /** @param {number} span */
  function spanLabel(span) {
    return span >= 60_000 ? `−${+(span / 60_000).toFixed(1)} min` : `−${Math.round(span / 1000)} s`;
  }

  /** A round number ≥ v for an axis. @param {number} v */
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  // ---------------------------------------------------------------- history

  /** @param {number} length */
  const zeros = (length) => new Array(length).fill(0);

  /** @param {string} name */
  function seriesOf(name) {
    const n = history.t.length;
    // Names are data: a balancer called "constructor" must not find Object's own property.
    let b = Object.hasOwn(history.balancers, name) ? history.balancers[name] : undefined;
    if (b === undefined) {
      b = { n: zeros(n), e: zeros(n), p50: new Array(n).fill(null), p99: new Array(n).fill(null), members: {} };
      history.balancers[name] = b;
    }
    return b;
  }

  /** @param {BalancerSeries} b @param {string} url */
  function memberSeriesOf(b, url) {
    let m = Object.hasOwn(b.members, url) ? b.members[url] : undefined;
    if (m === undefined) {
      const n = history.t.length;
      m = { n: zeros(n), e: zeros(n), busy: zeros(n) };
      b.members[url] = m;
    }
    return m;
  }

  /** Append one sample (the update's) to the history, dropping the oldest beyond the capacity. @param {NonNullable<Update['sample']>} s */
  function addSample(s) {
    const capacity = snap?.capacity ?? 600;
    for (const [name, b] of Object.entries(s.balancers)) {
      const hb = seriesOf(name);
      for (const url of Object.keys(b.members)) memberSeriesOf(hb, url);
    }
    history.t.push(s.t);
    for (const [name, hb] of Object.entries(history.balancers)) {
      const b = Object.hasOwn(s.balancers, name) ? s.balancers[name] : undefined;
      hb.n.push(b?.n ?? 0);
      hb.e.push(b?.e ?? 0);
      hb.p50.push(b?.p50 ?? null);
      hb.p99.push(b?.p99 ?? null);
      for (const [url, hm] of Object.entries(hb.members)) {
        const m = b !== undefined && Object.hasOwn(b.members, url) ? b.members[url] : undefined;
        hm.n.push(m?.n ?? 0);
        hm.e.push(m?.e ?? 0);
        hm.busy.push(m?.busy ?? 0);
      }
    }
    const extra = history.t.length - capacity;
    if (extra > 0) {
      history.t.splice(0, extra);
      for (const hb of Object.values(history.balancers)) {
        for (const a of [hb.n, hb.e, hb.p50, hb.p99]) a.splice(0, extra);
        for (const hm of Object.values(hb.members)) for (const a of [hm.n, hm.e, hm.busy]) a.splice(0, extra);
      }
    }
  }

  /** @param {DashboardEvent[]} list */
  function addEvents(list) {
    for (const e of list) {
      if (e.seq <= maxSeq) continue;
      events.push(e);
      maxSeq = e.seq;
    }
    if (events.length > 200) events = events.slice(-200);
  }

  // ---------------------------------------------------------------- charts

  /**
   * @typedef {{ color: string, values: ReadonlyArray<number | null>, width?: number, dash?: string }} Line
   * @typedef {{ kind: 'stack' | 'lines', series: Line[], errors?: ReadonlyArray<number>, unit?: (v: number) => string, markers?: DashboardEvent[] }} ChartSpec
   */

  /**
   * Draw a chart over the last `capacity` seconds into `svgEl` (cleared first), at its current size.
   * @param {SVGSVGElement} svgEl
   * @param {ChartSpec} spec
   */
  function drawChart(svgEl, spec) {
    const width = Math.max(120, svgEl.clientWidth || 300);
    const height = Math.max(60, svgEl.clientHeight || 116);
    svgEl.setAttribute('viewBox', `0 0 ${width} ${height}`);
    while (svgEl.firstChild) svgEl.firstChild.remove();
    const left = 38;
    const right = 4;
    const top = 8;
    const bottom = 14;
    const w = width - left - right;
    const h = height - top - bottom;
    const span = chartSpan();
    const end = history.t.length > 0 ? Math.max(history.t[history.t.length - 1] ?? 0, now() - 1000) : now();
    const start = end - span;
    const step = (w * (snap?.intervalMs ?? 1000)) / span;
    /** @param {number} t */
    const x = (t) => left + ((t - start) / span) * w;

    let max = 0;
    if (spec.kind === 'stack') {
      for (let i = 0; i < history.t.length; i++) {
        let sum = 0;
        for (const s of spec.series) sum += s.values[i] ?? 0;
        max = Math.max(max, sum);
      }
    } else {
      for (const s of spec.series) for (const v of s.values) if (v !== null && v > max) max = v;
    }
    max = niceMax(max);
    /** @param {number} v */
    const y = (v) => top + h - (v / max) * h;
    const unit = spec.unit ?? ((/** @type {number} */ v) => (v >= 1000 ? `${v / 1000}k` : String(v)));

    // Grid and axis labels.
    for (const f of [0, 0.5, 1]) {
      const gy = y(max * f);
      svgEl.append(svg('line', { x1: left, x2: left + w, y1: gy, y2: gy, class: f === 0 ? 'axis' : 'gridline' }));
      const label = svg('text', { x: left - 4, y: gy + 3, 'text-anchor': 'end' });
      label.textContent = unit(max * f);
      svgEl.append(label);
    }
    for (const [f, text] of /** @type {Array<[number, string]>} */ ([[0, spanLabel(span)], [0.5, spanLabel(span / 2)], [1, 'now']])) {
      const label = svg('text', { x: left + f * w, y: height - 2, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' });
      label.textContent = text;
      svgEl.append(label);
    }

    // Events as thin vertical lines.
    for (const e of spec.markers ?? []) {
      if (e.time < start || e.time > end) continue;
      const ex = x(e.time);
      const stroke = e.level === 'bad' ? 'var(--bad)' : e.level === 'good' ? 'var(--ok)' : e.level === 'warn' ? 'var(--warn)' : 'var(--drain)';
      const line = svg('line', { x1: ex, x2: ex, y1: top, y2: top + h, stroke, 'stroke-width': 1, 'stroke-dasharray': '2 2' });
      const title = svg('title');
      title.textContent = `${clock(e.time)} ${e.text}`;
      line.append(title);
      svgEl.append(line);
    }

    if (spec.kind === 'stack') {
      // One path per series: a column per second, stacked on the ones before.
      const base = new Array(history.t.length).fill(0);
      for (const s of spec.series) {
        let d = '';
        for (let i = 0; i < history.t.length; i++) {
          const v = s.values[i] ?? 0;
          if (v <= 0 || (history.t[i] ?? 0) <= start) continue;
          const x0 = x(history.t[i] ?? 0) - step;
          const y0 = y(base[i] + v);
          const y1 = y(base[i]);
          d += `M${x0.toFixed(1)} ${y1.toFixed(1)}V${y0.toFixed(1)}h${Math.max(step, 1).toFixed(2)}V${y1.toFixed(1)}Z`;
          base[i] += v;
        }
        if (d !== '') svgEl.append(svg('path', { d, fill: s.color, stroke: 'none' }));
      }
    } else {
      for (const s of spec.series) {
        let d = '';
        let pen = false;
        for (let i = 0; i < history.t.length; i++) {
          const v = s.values[i];
          if (v === null || v === undefined || (history.t[i] ?? 0) <= start) {
            pen = false;
            continue;
          }
          const px = x((history.t[i] ?? 0) - (snap?.intervalMs ?? 1000) / 2);
          // A point after a gap starts with a dot (a zero-length segment with round caps), so a
          // lone second still shows.
          d += pen ? `L${px.toFixed(1)} ${y(v).toFixed(1)}` : `M${px.toFixed(1)} ${y(v).toFixed(1)}h0.01`;
          pen = true;
        }
        if (d !== '') {
          /** @type {Record<string, string | number>} */
          const attrs = { d, fill: 'none', stroke: s.color, 'stroke-width': s.width ?? 1.5, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' };
          if (s.dash) attrs['stroke-dasharray'] = s.dash;
          svgEl.append(svg('path', attrs));
        }
      }
    }

    // Seconds with failures: a red strip along the top.
    if (spec.errors) {
      let d = '';
      for (let i = 0; i < history.t.length; i++) {
        if ((spec.errors[i] ?? 0) <= 0 || (history.t[i] ?? 0) <= start) continue;
        d += `M${(x(history.t[i] ?? 0) - step).toFixed(1)} ${top - 6}h${Math.max(step, 2).toFixed(2)}v5h${(-Math.max(step, 2)).toFixed(2)}Z`;
      }
      if (d !== '') svgEl.append(svg('path', { d, fill: 'var(--bad)' }));
    }
  }

  /**
   * A member's requests per second as a sparkline.
   * @param {SVGSVGElement} svgEl
   * @param {ReadonlyArray<number>} values
   * @param {ReadonlyArray<number>} errors
   * @param {string} color
   */
  function drawSpark(svgEl, values, errors, color) {
    const width = 110;
    const height = 20;
    svgEl.setAttribute('viewBox', `0 0 ${width} ${height}`);
    while (svgEl.firstChild) svgEl.firstChild.remove();
    const span = chartSpan();
    const end = history.t.length > 0 ? Math.max(history.t[history.t.length - 1] ?? 0, now() - 1000) : now();
    const start = end - span;
    /** @param {number} t */
    const x = (t) => ((t - start) / span) * width;
    const max = Math.max(1, ...values);
    let d = '';
    let e = '';
    for (let i = 0; i < history.t.length; i++) {
      if ((history.t[i] ?? 0) <= start) continue;
      const px = x(history.t[i] ?? 0);
      const v = values[i] ?? 0;
      if (v > 0) d += `M${px.toFixed(1)} ${height - 1}V${(height - 1 - (v / max) * (height - 5)).toFixed(1)}`;
      if ((errors[i] ?? 0) > 0) e += `M${px.toFixed(1)} 0v3`;
    }
    svgEl.append(svg('line', { x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5, class: 'axis' }));
    if (d !== '') svgEl.append(svg('path', { d, stroke: color, 'stroke-width': Math.max(1, (width * (snap?.intervalMs ?? 1000)) / span), fill: 'none' }));
    if (e !== '') svgEl.append(svg('path', { d: e, stroke: 'var(--bad)', 'stroke-width': 1.5 }));
  }

  // ---------------------------------------------------------------- balancers

  /**
   * @typedef {{
   *   tr: HTMLTableRowElement, pill: HTMLElement, swatch: HTMLElement, route: HTMLElement, url: HTMLElement,
   *   lf: HTMLElement, set: HTMLElement, busy: HTMLElement, rate: HTMLElement, requests: HTMLElement,
   *   newShare: HTMLElement, newBar: HTMLElement, stickyShare: HTMLElement, stickyBar: HTMLElement,
   *   errors: HTMLElement, p50: HTMLElement, p99: HTMLElement, errAge: HTMLElement, retry: HTMLElement,
   *   spark: SVGSVGElement, doc: MemberDoc | null, color: string
   * }} RowView
   * @typedef {{
   *   section: HTMLElement, tags: HTMLElement, usable: HTMLElement, kpis: Record<string, HTMLElement>,
   *   newBar: HTMLElement, stickyBar: HTMLElement, charts: { req: SVGSVGElement, lat: SVGSVGElement, busy: SVGSVGElement },
   *   legends: HTMLElement[], tbody: HTMLTableSectionElement, rows: Map<string, RowView>
   * }} BalancerView
   */

  /** @type {Map<string, BalancerView>} */
  const views = new Map();

  /** The balancer's figures: [key, label, tooltip]. */
  const KPIS = /** @type {const} */ ([
    ['rate', 'req/s', 'requests per second over the last 10 s'],
    ['requests', 'requests', 'requests since the start'],
    ['sticky', 'sticky · 10 min', 'share of the requests of the last 10 min that went to the member their session named'],
    ['balanced', 'new sessions · 10 min', 'requests of the last 10 min the balancer placed (no session, or its member could not take it)'],
    ['errors', 'errors · 10 min', 'member failures of the last 10 min, all kinds'],
    ['failovers', 'failovers · 10 min', 'requests of the last 10 min that needed another member'],
    ['unavailable', '503 · 10 min', 'requests of the last 10 min answered 503 because no member could take them'],
    ['p50', 'p50 · 1 min', 'median response time over the last minute'],
    ['p99', 'p99 · 1 min', '99th percentile of the response time over the last minute'],
  ]);

  /** The member table's columns: [label, class, tooltip]. */
  const COLUMNS = [
    ['State', 'l', 'the worst of its flags: ERROR (E), HC FAIL (C), DRAINING (N), STANDBY (H, R), DISABLED (D), STOPPED (S)'],
    ['Route', 'l', 'the route a session id ends with'],
    ['Member', 'l url', 'the member URL'],
    ['LF', '', 'loadfactor'],
    ['Set', '', 'lbset'],
    ['Busy', '', 'requests in flight'],
    ['Req/s', '', 'over the last 10 s'],
    ['Requests', '', 'since the start'],
    ['New sessions', '', 'share of the load-balanced picks of the last 10 min (count)'],
    ['Sticky', '', 'share of the sticky hits of the last 10 min (count)'],
    ['Errors', '', 'failures by kind in the last 10 min'],
    ['p50', '', 'over the last minute'],
    ['p99', '', 'over the last minute'],
    ['In error', '', 'since when the member is in error'],
    ['Retry', '', 'when the next request will try it again (error time + retry)'],
    ['Requests/s', 'l', 'the last minutes, failures in red'],
  ];

  /** @param {string} caption */
  function figure(caption) {
    const fig = el('figure');
    const cap = el('figcaption');
    cap.append(el('span', '', caption));
    const legend = el('span', 'legend');
    cap.append(legend);
    const chart = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (svg('svg', { class: 'chart' })));
    fig.append(cap, chart);
    return { fig, chart, legend };
  }

  /** @param {BalancerDoc} b @returns {BalancerView} */
  function createBalancer(b) {
    const section = el('section', 'balancer');
    section.dataset.balancer = b.name;
    const head = el('div', 'bhead');
    head.append(el('h2', '', `balancer://${b.name}`));
    const tags = el('span', 'tags');
    head.append(tags);
    const usable = el('span', 'usable');
    head.append(usable);

    const kpiRow = el('div', 'kpis');
    /** @type {Record<string, HTMLElement>} */
    const kpis = {};
    for (const [key, label, tip] of KPIS) {
      const k = el('div', 'kpi');
      k.dataset.kpi = key;
      k.title = tip;
      const v = el('div', 'v', '–');
      k.append(v, el('div', 'l', label));
      kpis[key] = v;
      kpiRow.append(k);
    }
    const shares = el('div', 'shares');
    const newBar = el('div', 'bar share-new');
    const stickyBar = el('div', 'bar share-sticky');
    shares.append(el('span', '', 'New sessions'), newBar, el('span', '', 'Sticky'), stickyBar);
    kpiRow.append(shares);

    const charts = el('div', 'charts');
    const req = figure('Requests/s by member');
    const lat = figure('Response time');
    const busy = figure('Busy');
    lat.legend.append(legendItem('var(--fg)', 'p99'), legendItem('var(--muted)', 'p50'));
    charts.append(req.fig, lat.fig, busy.fig);

    const table = el('table', 'members');
    const thead = el('thead');
    const tr = el('tr');
    for (const [label, cls, tip] of COLUMNS) {
      const th = el('th', cls, label);
      th.title = tip ?? '';
      tr.append(th);
    }
    thead.append(tr);
    const tbody = el('tbody');
    table.append(thead, tbody);
    const scroller = el('div', 'table');
    scroller.append(table);
    section.append(head, kpiRow, charts, scroller);
    return { section, tags, usable, kpis, newBar, stickyBar, charts: { req: req.chart, lat: lat.chart, busy: busy.chart }, legends: [req.legend, busy.legend], tbody, rows: new Map() };
  }

  /** @param {string} color @param {string} text */
  function legendItem(color, text) {
    const item = el('span');
    item.title = text;
    const sw = el('i', 'sw');
    sw.style.background = color;
    item.append(sw, document.createTextNode(text));
    return item;
  }

  /** @returns {RowView} */
  function createRow() {
    const tr = el('tr', 'm');
    const td = (/** @type {string} */ cls) => {
      const c = el('td', cls);
      tr.append(c);
      return c;
    };
    const stateCell = td('l state');
    const pill = el('span', 'pill');
    stateCell.append(pill);
    const routeCell = td('l route');
    const swatch = el('i', 'sw');
    const route = el('span');
    routeCell.append(swatch, route);
    const url = td('l url');
    const lf = td('lf');
    const set = td('set');
    const busy = td('busy');
    const rateCell = td('rate');
    const requests = td('requests');
    const newCell = td('share-new');
    const newShare = el('span');
    const newMini = el('span', 'minibar');
    const newBar = el('i');
    newMini.append(newBar);
    newCell.append(newShare, newMini);
    const stickyCell = td('share-sticky');
    const stickyShare = el('span');
    const stickyMini = el('span', 'minibar');
    const stickyBar = el('i');
    stickyMini.append(stickyBar);
    stickyCell.append(stickyShare, stickyMini);
    const errors = td('errors');
    const p50 = td('p50');
    const p99 = td('p99');
    const errAge = td('err-age');
    const retry = td('retry');
    const sparkCell = td('l');
    const spark = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (svg('svg', { class: 'spark' })));
    sparkCell.append(spark);
    return { tr, pill, swatch, route, url, lf, set, busy, rate: rateCell, requests, newShare, newBar, stickyShare, stickyBar, errors, p50, p99, errAge, retry, spark, doc: null, color: '' };
  }

  /** @param {HTMLElement} bar @param {MemberDoc[]} members @param {(m: MemberDoc) => number | null} share @param {string[]} colors */
  function drawShareBar(bar, members, share, colors) {
    while (bar.firstChild) bar.firstChild.remove();
    members.forEach((m, i) => {
      const s = share(m);
      if (s === null || s <= 0) return;
      const pct = `${Math.round(s * 100)}%`;
      const part = el('span', '', s >= 0.3 ? `${m.route || '(no route)'} ${pct}` : s >= 0.12 ? pct : '');
      part.style.width = `${(s * 100).toFixed(2)}%`;
      part.style.background = colors[i] ?? '#888';
      part.title = `${m.route || m.url}: ${percent(s)}`;
      bar.append(part);
    });
  }

  /** Ages and retry countdowns: they change every second even without news. @param {RowView} r */
  function updateAges(r) {
    const m = r.doc;
    if (m === null) return;
    const t = now();
    setText(r.errAge, m.errorSince === null ? '' : age(t - m.errorSince));
    if (m.retryAt === null) {
      setText(r.retry, m.state === 'stopped' && m.errorTime !== null ? 'never (stopped)' : '');
      r.retry.classList.remove('due');
    } else if (m.retryAt > t) {
      setText(r.retry, `in ${age(m.retryAt - t + 999)}`);
      r.retry.title = `the first request after ${clock(m.retryAt)} tries it again (retry ${age(m.retry)})`;
      r.retry.classList.remove('due');
    } else {
      setText(r.retry, 'due');
      r.retry.title = 'the next request that could go there tries it again';
      r.retry.classList.add('due');
    }
    r.errAge.title = m.errorSince === null || m.errorTime === null ? '' : `in error since ${clock(m.errorSince)}; last failure ${clock(m.errorTime)}`;
  }

  /** @param {BalancerView} v @param {BalancerDoc} b */
  function updateBalancer(v, b) {
    const tags = [b.lbmethod, b.stickysession === null ? 'not sticky' : `sticky ${b.stickysession}`, ...b.paths];
    if (v.tags.childElementCount !== tags.length || [...v.tags.children].some((c, i) => c.textContent !== tags[i])) {
      while (v.tags.firstChild) v.tags.firstChild.remove();
      for (const t of tags) v.tags.append(el('span', 'tag', t), document.createTextNode(' '));
    }
    const usable = b.usableMembers;
    const all = b.members.length;
    setText(v.usable, `${usable}/${all} usable`);
    v.usable.className = `usable ${usable === all ? 'all' : usable === 0 ? 'none' : 'some'}`;

    const w = b.window;
    const errors = errorSum(w.errors);
    setText(v.kpis.rate ?? v.usable, rate(w.rate));
    setText(v.kpis.requests ?? v.usable, count(b.totals.requests));
    setText(v.kpis.sticky ?? v.usable, w.requests > 0 ? percent(w.sticky / w.requests) : '–');
    setText(v.kpis.balanced ?? v.usable, count(w.balanced));
    setText(v.kpis.errors ?? v.usable, count(errors));
    setText(v.kpis.failovers ?? v.usable, count(w.failovers));
    setText(v.kpis.unavailable ?? v.usable, count(w.unavailable));
    setText(v.kpis.p50 ?? v.usable, millis(w.p50));
    setText(v.kpis.p99 ?? v.usable, millis(w.p99));
    v.kpis.errors?.parentElement?.classList.toggle('bad', errors > 0);
    v.kpis.unavailable?.parentElement?.classList.toggle('bad', w.unavailable > 0);
    if (v.kpis.errors) v.kpis.errors.title = errorText(w.errors) || 'no errors';

    const colors = b.members.map((_, i) => colour(i));
    drawShareBar(v.newBar, b.members, (m) => m.balancedShare, colors);
    drawShareBar(v.stickyBar, b.members, (m) => m.stickyShare, colors);

    const present = new Set();
    b.members.forEach((m, i) => {
      present.add(m.url);
      let r = v.rows.get(m.url);
      if (r === undefined) {
        r = createRow();
        r.tr.dataset.member = m.url;
        v.rows.set(m.url, r);
      }
      // Keep the configured order.
      if (v.tbody.children[i] !== r.tr) v.tbody.insertBefore(r.tr, v.tbody.children[i] ?? null);
      r.doc = m;
      r.color = colors[i] ?? '#888';
      r.tr.className = `m state-${m.state}`;
      r.tr.dataset.state = m.state;
      r.pill.className = `pill ${m.state}`;
      setText(r.pill, STATE_LABEL[m.state] ?? m.state);
      r.pill.title = `${m.status.trim()} (flags ${m.flags})${m.health ? ` — last health check ${m.health.ok ? 'passed' : 'failed'}: ${m.health.detail}` : ''}`;
      r.swatch.style.background = r.color;
      setText(r.route, m.route === '' ? '(none)' : m.route);
      r.route.title = `${m.route} — ${m.url}`;
      setText(r.url, m.url);
      r.url.title = m.url;
      setText(r.lf, m.loadfactor.toFixed(2));
      setText(r.set, String(m.lbset));
      setText(r.busy, String(m.busy));
      setText(r.rate, rate(m.window.rate));
      setText(r.requests, count(m.totals.requests));
      r.requests.title = `${count(m.totals.sticky)} sticky, ${count(m.totals.requests - m.totals.sticky)} load-balanced since the start`;
      setText(r.newShare, m.balancedShare === null ? '–' : `${percent(m.balancedShare)} (${count(m.window.balanced)})`);
      r.newBar.style.width = `${((m.balancedShare ?? 0) * 100).toFixed(1)}%`;
      r.newBar.style.background = r.color;
      setText(r.stickyShare, m.stickyShare === null ? '–' : `${percent(m.stickyShare)} (${count(m.window.sticky)})`);
      r.stickyBar.style.width = `${((m.stickyShare ?? 0) * 100).toFixed(1)}%`;
      r.stickyBar.style.background = r.color;
      const et = errorText(m.window.errors);
      setText(r.errors, et === '' ? '0' : et);
      r.errors.className = et === '' ? 'errors dim' : 'errors errs';
      r.errors.title = `since the start: ${errorText(m.totals.errors) || 'none'}`;
      setText(r.p50, millis(m.window.p50));
      setText(r.p99, millis(m.window.p99));
      updateAges(r);
    });
    for (const [url, r] of v.rows) {
      if (!present.has(url)) {
        r.tr.remove();
        v.rows.delete(url);
      }
    }
  }

  /** @param {BalancerView} v @param {BalancerDoc} b */
  function drawBalancerCharts(v, b) {
    const hb = seriesOf(b.name);
    const markers = events.filter((e) => e.balancer === null || e.balancer === b.name);
    const members = b.members.map((m, i) => ({ m, color: colour(i), s: memberSeriesOf(hb, m.url) }));
    drawChart(v.charts.req, { kind: 'stack', series: members.map((x) => ({ color: x.color, values: x.s.n })), errors: hb.e, markers });
    drawChart(v.charts.lat, {
      kind: 'lines',
      series: [
        { color: 'var(--muted)', values: hb.p50, width: 1.2 },
        { color: 'var(--fg)', values: hb.p99, width: 1.6 },
      ],
      unit: (ms) => (ms >= 1000 ? `${+(ms / 1000).toFixed(1)}s` : ms >= 10 ? `${Math.round(ms)}ms` : `${+ms.toFixed(2)}ms`),
      markers,
    });
    drawChart(v.charts.busy, { kind: 'lines', series: members.map((x) => ({ color: x.color, values: x.s.busy, width: 1.4 })), markers });
    for (const legend of v.legends) {
      while (legend.firstChild) legend.firstChild.remove();
      for (const x of members) legend.append(legendItem(x.color, x.m.route || x.m.url));
    }
    for (const x of members) {
      const r = v.rows.get(x.m.url);
      if (r) drawSpark(r.spark, x.s.n, x.s.e, x.color);
    }
  }

  function renderBalancers() {
    if (snap === null) return;
    const root = byId('balancers');
    document.getElementById('loading')?.remove();
    const present = new Set();
    snap.balancers.forEach((b, i) => {
      present.add(b.name);
      let v = views.get(b.name);
      if (v === undefined) {
        v = createBalancer(b);
        views.set(b.name, v);
      }
      if (root.children[i] !== v.section) root.insertBefore(v.section, root.children[i] ?? null);
      updateBalancer(v, b);
    });
    for (const [name, v] of views) {
      if (!present.has(name)) {
        v.section.remove();
        views.delete(name);
      }
    }
    if (snap.balancers.length === 0 && root.childElementCount === 0) root.append(el('p', 'empty', 'No balancers are configured.'));
  }

  function drawCharts() {
    if (snap === null) return;
    for (const b of snap.balancers) {
      const v = views.get(b.name);
      if (v) drawBalancerCharts(v, b);
    }
  }

  // ---------------------------------------------------------------- header and timeline

  function renderDaemon() {
    if (snap === null) return;
    const d = snap.daemon;
    const box = byId('daemon');
    while (box.firstChild) box.firstChild.remove();
    /** @param {string} label @param {string} value @param {string} [cls] */
    const item = (label, value, cls) => {
      const s = el('span', cls ?? '');
      s.append(document.createTextNode(`${label} `), el('b', '', value));
      box.append(s);
      return s;
    };
    item('stickyd', d.version);
    item('pid', String(d.pid));
    const up = item('up', age(now() - d.started));
    up.id = 'uptime';
    item('workers', d.workerRestarts > 0 ? `${d.workers} (${d.workerRestarts} restarted)` : String(d.workers), d.workerRestarts > 0 ? 'bad' : '');
    if (d.reload !== null) {
      item('last load', `${clock(Date.parse(d.reload.time))} ${d.reload.successful ? 'ok' : 'REFUSED'} (${d.reload.trigger})`, d.reload.successful ? '' : 'bad');
    }
  }

  function renderEvents() {
    const list = byId('events');
    while (list.firstChild) list.firstChild.remove();
    setText(byId('events-count'), events.length === 0 ? '' : `${events.length}`);
    if (events.length === 0) {
      list.append(el('li', 'empty', 'Nothing has happened yet: members going into error or back, drains, reloads and worker restarts show here.'));
      return;
    }
    const t = now();
    for (const e of [...events].reverse()) {
      const li = el('li', e.level);
      li.dataset.kind = e.kind;
      const time = el('time', '', clock(e.time));
      time.dateTime = new Date(e.time).toISOString();
      const text = el('span', 'text');
      text.append(el('span', 'kind', KIND_LABEL[e.kind] ?? e.kind));
      if (e.balancer !== null) {
        const who = e.member === null ? e.balancer : `${e.balancer} · ${e.route || e.member}`;
        text.append(el('span', 'who', who), document.createTextNode(' '));
      }
      text.append(document.createTextNode(e.text));
      const ago = el('span', 'ago', `${age(t - e.time)} ago`);
      ago.dataset.time = String(e.time);
      li.append(time, text, ago);
      list.append(li);
    }
  }

  function tickAges() {
    for (const v of views.values()) for (const r of v.rows.values()) updateAges(r);
    const t = now();
    for (const a of document.querySelectorAll('ol.events .ago')) {
      const at = Number(/** @type {HTMLElement} */ (a).dataset.time);
      setText(a, `${age(t - at)} ago`);
    }
    if (snap) {
      const up = document.querySelector('#uptime b');
      if (up) setText(up, age(t - snap.daemon.started));
    }
    const live = byId('live');
    if (lastMessage > 0 && Date.now() - lastMessage > 3500 && !live.classList.contains('lost')) {
      live.className = 'live lost';
      setText(live, 'no news: reconnecting…');
    }
  }

  // ---------------------------------------------------------------- the stream

  /** @param {number} serverNow */
  function heard(serverNow) {
    offset = serverNow - Date.now();
    lastMessage = Date.now();
    const live = byId('live');
    live.className = 'live on';
    setText(live, 'live');
  }

  const stream = new EventSource('/dashboard/stream');
  stream.addEventListener('snapshot', (ev) => {
    /** @type {Snapshot} */
    const s = JSON.parse(/** @type {MessageEvent<string>} */ (ev).data);
    snap = s;
    heard(s.now);
    history = s.series;
    events = [];
    maxSeq = 0;
    addEvents(s.events);
    renderDaemon();
    renderBalancers();
    renderEvents();
    drawCharts();
  });
  stream.addEventListener('update', (ev) => {
    if (snap === null) return;
    /** @type {Update} */
    const u = JSON.parse(/** @type {MessageEvent<string>} */ (ev).data);
    heard(u.now);
    snap.daemon = u.daemon;
    snap.balancers = u.balancers;
    if (u.sample !== null) addSample(u.sample);
    const before = maxSeq;
    addEvents(u.events);
    renderDaemon();
    renderBalancers();
    if (maxSeq !== before) renderEvents();
    if (u.sample !== null || maxSeq !== before) drawCharts();
  });
  stream.addEventListener('error', () => {
    const live = byId('live');
    live.className = 'live lost';
    setText(live, stream.readyState === EventSource.CLOSED ? 'disconnected: reload the page' : 'reconnecting…');
  });

  setInterval(tickAges, 1000);
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(drawCharts, 100);
  });
})();
