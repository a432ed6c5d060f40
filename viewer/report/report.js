/* flaskscope report: step through a recorded trace in the browser.
 *
 * Reads the JSON documents embedded in the page (never fetches anything but, on a live
 * page, its own server's event stream), and moves exactly as the terminal viewer's
 * Navigator does (viewer/tui/navigation.py): next/previous in time, into, out, over,
 * first, last, search. Every recorded value is put in the page as text (textContent),
 * never as markup.
 */
(function () {
  "use strict";

  var ROW = 20;
  var UI = {
    en: { requests: "Requests", steps: "Steps", source: "Source", locals: "Locals", stack: "Stack",
          graphs: "Graphs", explain: "Explain", decorators: "decorators", routes: "routes",
          noGraph: "no graph for this phase", noExplain: "no narrative for this phase",
          noSource: "no source embedded for this step", search: "search steps (/)" },
    zh: { requests: "请求", steps: "步骤", source: "源代码", locals: "局部变量", stack: "调用栈",
          graphs: "图", explain: "讲解", decorators: "装饰器", routes: "路由",
          noGraph: "此阶段没有图", noExplain: "此阶段没有讲解",
          noSource: "此步骤没有嵌入源代码", search: "搜索步骤 (/)" }
  };

  function byId(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  var head = JSON.parse(byId("fs-head").textContent);
  var sources = head.sources || {};
  var summaries = head.requests.slice();
  var docs = [];      // phase documents given whole (live)
  var phases = [];    // Phase objects, built when first opened

  // -- steps and their tree: a port of StepIndex -------------------------------------------

  function Phase(doc) {
    this.doc = doc;
    this.count = doc.count;
    this.parents = doc.parents;
    this.kinds = doc.kinds;
    this.roles = doc.roles || {};
    this.depthMemo = new Int32Array(this.count).fill(-1);
    this.endMemo = new Int32Array(this.count).fill(-1);
    this.childMemo = {};
    this.haystack = null;
    this.showLines = true;
    this.collapsed = new Set();
    this.bookmarks = [];
    this.navigable = null;  // null: every step
    this.rowsMemo = null;
    this.linesOf = {};
    this.snapshots = {};
    this.current = this.count ? 0 : null;
  }
  Phase.prototype.parent = function (id) { var p = this.parents[id]; return p < 0 ? null : p; };
  Phase.prototype.kind = function (id) { return this.kinds.charAt(id); };
  Phase.prototype.name = function (id) { return this.doc.name_table[this.doc.names[id]]; };
  Phase.prototype.file = function (id) { var f = this.doc.files[id]; return f < 0 ? null : this.doc.file_table[f]; };
  Phase.prototype.shortFile = function (id) { var f = this.doc.files[id]; return f < 0 ? "?" : this.doc.short_files[f]; };
  Phase.prototype.line = function (id) { var n = this.doc.lines[id]; return n ? n : null; };
  Phase.prototype.role = function (id) { return this.roles[id] || null; };
  Phase.prototype.detail = function (id) { return this.doc.detail[id] || {}; };
  Phase.prototype.facts = function (id) { return (this.doc.facts || {})[id] || []; };
  Phase.prototype.depth = function (id) {
    var path = [], cur = id;
    while (cur !== null && this.depthMemo[cur] < 0) { path.push(cur); cur = this.parent(cur); }
    var d = cur === null ? -1 : this.depthMemo[cur];
    for (var i = path.length - 1; i >= 0; i--) { d += 1; this.depthMemo[path[i]] = d; }
    return this.depthMemo[id];
  };
  Phase.prototype.subtreeEnd = function (id) {
    var memo = this.endMemo[id];
    if (memo >= 0) return memo;
    var end = id + 1, count = this.count;
    while (end < count) {
      var p = this.parents[end];
      if (p < 0 || p < id) break;
      var known = this.endMemo[end];
      end = (known >= 0 ? known : end) + 1;
    }
    end -= 1;
    this.endMemo[id] = end;
    return end;
  };
  Phase.prototype.hasChildren = function (id) { return id + 1 < this.count && this.parents[id + 1] === id; };
  Phase.prototype.children = function (id) {
    var key = id === null ? "top" : id;
    var found = this.childMemo[key];
    if (found) return found;
    found = [];
    var pos = id === null ? 0 : id + 1, stop = id === null ? this.count - 1 : this.subtreeEnd(id);
    while (pos <= stop) { found.push(pos); pos = this.subtreeEnd(pos) + 1; }
    this.childMemo[key] = found;
    return found;
  };
  Phase.prototype.endStep = function (id) {
    if (this.kind(id) !== "c") return null;
    var last = this.subtreeEnd(id), k = this.kind(last);
    return last !== id && this.parents[last] === id && (k === "r" || k === "x") ? last : null;
  };
  Phase.prototype.ancestors = function (id) {
    var out = [], p = this.parent(id);
    while (p !== null) { out.push(p); p = this.parent(p); }
    return out;
  };
  Phase.prototype.frame = function (id) { return this.kind(id) === "c" ? id : this.parent(id); };

  // -- where the reader is and how they move: a port of Navigator ----------------------------

  function bisectLeft(arr, x) { var lo = 0, hi = arr.length; while (lo < hi) { var m = (lo + hi) >> 1; if (arr[m] < x) lo = m + 1; else hi = m; } return lo; }
  function bisectRight(arr, x) { var lo = 0, hi = arr.length; while (lo < hi) { var m = (lo + hi) >> 1; if (x < arr[m]) hi = m; else lo = m + 1; } return lo; }
  // The navigable ids (sorted): `navigable`, or every id when it is null (lines shown).
  Phase.prototype.navAt = function (i) { return this.navigable ? this.navigable[i] : i; };
  Phase.prototype.navLen = function () { return this.navigable ? this.navigable.length : this.count; };
  Phase.prototype.navLeft = function (x) { return this.navigable ? bisectLeft(this.navigable, x) : Math.max(0, Math.min(x, this.count)); };
  Phase.prototype.navRight = function (x) { return this.navigable ? bisectRight(this.navigable, x) : Math.max(0, Math.min(x + 1, this.count)); };
  Phase.prototype.shown = function (id) { return this.showLines || this.kind(id) !== "l"; };
  Phase.prototype.refilter = function () {
    if (this.showLines) { this.navigable = null; }
    else {
      var ids = [];
      for (var i = 0; i < this.count; i++) if (this.kinds.charCodeAt(i) !== 108) ids.push(i);
      this.navigable = ids;
    }
    this.rowsMemo = null;
  };
  Phase.prototype.rows = function () {
    if (this.rowsMemo) return this.rowsMemo;
    var n = this.navLen(), rows;
    if (!this.collapsed.size) {
      rows = { length: n, at: this.navAt.bind(this), index: this.rowIndexPlain.bind(this) };
    } else {
      var ids = [], pos = 0;
      while (pos < n) {
        var id = this.navAt(pos);
        ids.push(id);
        if (this.collapsed.has(id)) pos = this.navRight(this.subtreeEnd(id)); else pos += 1;
      }
      rows = { length: ids.length, at: function (i) { return ids[i]; },
               index: function (id) { var i = bisectLeft(ids, id); return i < ids.length && ids[i] === id ? i : null; } };
    }
    this.rowsMemo = rows;
    return rows;
  };
  Phase.prototype.rowIndexPlain = function (id) {
    var i = this.navLeft(id);
    return i < this.navLen() && this.navAt(i) === id ? i : null;
  };
  Phase.prototype.go = function (id) {
    if (this.collapsed.size) {
      var anc = this.ancestors(id);
      for (var i = 0; i < anc.length; i++) if (this.collapsed.delete(anc[i])) this.rowsMemo = null;
    }
    this.current = id;
    return id;
  };
  Phase.prototype.jump = function (id) {
    if (!(id >= 0 && id < this.count)) return null;
    if (!this.showLines && this.kind(id) === "l") {
      var p = this.parent(id);
      if (p === null) return null;
      id = p;
    }
    return this.go(id);
  };
  Phase.prototype.next = function () {
    if (this.current === null) return null;
    var pos = this.navRight(this.current);
    return pos < this.navLen() ? this.go(this.navAt(pos)) : null;
  };
  Phase.prototype.previous = function () {
    if (this.current === null) return null;
    var pos = this.navLeft(this.current) - 1;
    return pos >= 0 ? this.go(this.navAt(pos)) : null;
  };
  Phase.prototype.first = function () { return this.navLen() ? this.go(this.navAt(0)) : null; };
  Phase.prototype.last = function () { return this.navLen() ? this.go(this.navAt(this.navLen() - 1)) : null; };
  Phase.prototype.into = function () {
    if (this.current === null) return null;
    var kids = this.children(this.current);
    for (var i = 0; i < kids.length; i++) if (this.shown(kids[i])) return this.go(kids[i]);
    return this.next();
  };
  Phase.prototype.out = function () {
    var cur = this.current;
    if (cur === null) return null;
    var frame = this.frame(cur);
    while (frame !== null) {
      var end = this.endStep(frame);
      if (end !== null && end !== cur) return this.go(end);
      if (end === null && frame !== cur) return this.go(frame);
      frame = this.parent(frame);
    }
    return null;
  };
  Phase.prototype.over = function () {
    if (this.current === null) return null;
    var pos = this.navRight(this.subtreeEnd(this.current));
    return pos < this.navLen() ? this.go(this.navAt(pos)) : null;
  };
  Phase.prototype.toggleFold = function (id) {
    if (!this.hasChildren(id)) return false;
    if (this.collapsed.has(id)) this.collapsed.delete(id);
    else {
      this.collapsed.add(id);
      var cur = this.current;
      if (cur !== null && id < cur && cur <= this.subtreeEnd(id)) this.current = id;
    }
    this.rowsMemo = null;
    return true;
  };
  Phase.prototype.setShowLines = function (show) {
    if (show === this.showLines) return;
    this.showLines = show;
    this.refilter();
    var cur = this.current;
    if (cur !== null && !this.shown(cur)) {
      var p = this.parent(cur), pos = this.navLeft(cur) - 1;
      this.current = p !== null ? p : (pos >= 0 ? this.navAt(pos) : null);
    }
  };
  Phase.prototype.toggleBookmark = function () {
    var cur = this.current;
    if (cur === null) return false;
    var pos = bisectLeft(this.bookmarks, cur);
    if (pos < this.bookmarks.length && this.bookmarks[pos] === cur) { this.bookmarks.splice(pos, 1); return false; }
    this.bookmarks.splice(pos, 0, cur);
    return true;
  };
  Phase.prototype.isBookmarked = function (id) { var p = bisectLeft(this.bookmarks, id); return p < this.bookmarks.length && this.bookmarks[p] === id; };
  Phase.prototype.nextBookmark = function () {
    var self = this, marks = this.bookmarks.filter(function (m) { return self.shown(m); });
    if (!marks.length) return null;
    var cur = this.current === null ? -1 : this.current, pos = bisectRight(marks, cur);
    return this.go(pos < marks.length ? marks[pos] : marks[0]);
  };
  Phase.prototype.searchText = function (id) {
    var parts = [this.name(id), this.file(id) || "", this.role(id) || ""], d = this.detail(id);
    for (var k in d) parts.push(k, d[k]);
    this.facts(id).forEach(function (pair) { parts.push(pair[0], pair[1]); });
    return parts.join("\n").toLowerCase();
  };
  Phase.prototype.search = function (query) {
    var needle = query.trim().toLowerCase();
    if (!needle || !this.count) return null;
    if (!this.haystack) this.haystack = new Array(this.count);
    var start = this.current === null ? -1 : this.current;
    for (var off = 1; off <= this.count; off++) {
      var id = (start + off) % this.count;
      var text = this.haystack[id];
      if (text === undefined) text = this.haystack[id] = this.searchText(id);
      if (text.indexOf(needle) >= 0 && this.shown(id)) return this.go(id);
    }
    return null;
  };

  // -- what the panes show: ports of FrameValues.at and ViewState.location -------------------

  Phase.prototype.lineChildren = function (frame) {
    var found = this.linesOf[frame];
    if (!found) {
      var self = this;
      found = this.linesOf[frame] = this.children(frame).filter(function (c) { return self.kind(c) === "l"; });
    }
    return found;
  };
  // The frame's arguments overlaid with its line steps before `id`, from a snapshot kept
  // every CHECKPOINT lines, so a frame of many thousands of lines steps quickly.
  var CHECKPOINT = 64;
  Phase.prototype.localsBefore = function (frame, id) {
    var lines = this.lineChildren(frame), count = bisectRight(lines, id - 1);
    var snaps = this.snapshots[frame];
    if (!snaps) snaps = this.snapshots[frame] = { 0: Object.assign({}, this.detail(frame)) };
    var base = Math.floor(count / CHECKPOINT) * CHECKPOINT;
    while (!(base in snaps)) base -= CHECKPOINT;
    var values = Object.assign({}, snaps[base]);
    for (var i = base; i < count; i++) {
      Object.assign(values, this.detail(lines[i]));
      if ((i + 1) % CHECKPOINT === 0 && !((i + 1) in snaps)) snaps[i + 1] = Object.assign({}, values);
    }
    return values;
  };
  Phase.prototype.values = function (id) {
    var k = this.kind(id), d = this.detail(id), f = this.facts(id), name = this.name(id);
    var facts = f.map(function (pair) { return [pair[0], pair[1], false]; });
    var own = Object.keys(d).map(function (key) { return [key, d[key], true]; });
    if (k === "c") return { heading: own.length ? "arguments of " + name : name + ": no arguments", values: own, facts: facts };
    if (k === "n") return { heading: "note: " + name, values: own, facts: facts };
    var frame = this.parent(id);
    if (frame === null || this.kind(frame) !== "c") return { heading: name, values: own, facts: facts };
    var frameName = this.name(frame), before;
    if (k === "l") {
      before = this.localsBefore(frame, id);
      var merged = Object.assign({}, before, d);
      return { heading: "locals of " + frameName + " at line " + this.line(id),
               values: Object.keys(merged).map(function (key) { return [key, merged[key], Object.prototype.hasOwnProperty.call(d, key)]; }),
               facts: facts };
    }
    var items = k === "r" ? [["return value", "result" in d ? d.result : "?", true]]
                          : [["raised", "exception" in d ? d.exception : "?", true]];
    Object.keys(d).forEach(function (key) { if (key !== "result" && key !== "exception") items.push([key, d[key], true]); });
    before = this.localsBefore(frame, id);
    Object.keys(before).forEach(function (key) { items.push([key, before[key], false]); });
    return { heading: frameName + (k === "r" ? " returned" : " raised"), values: items, facts: facts };
  };
  Phase.prototype.location = function (id) {
    var file = this.file(id), line = this.line(id);
    if (file !== null && line !== null) return { file: file, short: this.shortFile(id), line: line, name: this.name(id) };
    var frame = this.kind(id) !== "n" ? this.frame(id) : this.parent(id);
    if (frame === null) return { file: file, short: this.shortFile(id), line: line, name: this.name(id) };
    var callLine = this.line(frame);
    if (head.lines) {
      var kids = this.children(frame);
      for (var pos = bisectLeft(kids, id) - 1; pos >= 0; pos--) {
        if (this.kind(kids[pos]) === "l") { callLine = this.line(kids[pos]); break; }
      }
    }
    return { file: this.file(frame), short: this.shortFile(frame), line: callLine, name: this.name(frame) };
  };

  // -- state -------------------------------------------------------------------------------

  var state = { phase: summaries.length > 1 ? 1 : 0, lang: head.lang, graph: "decorators",
                showLines: true };

  function phaseAt(index) {
    if (phases[index]) return phases[index];
    var doc = docs[index];
    if (!doc) {
      var node = byId("fs-phase-" + index);
      if (!node) return null;
      doc = JSON.parse(node.textContent);
    }
    phases[index] = new Phase(doc);
    return phases[index];
  }
  function current() { return phaseAt(state.phase); }

  // -- rendering ---------------------------------------------------------------------------

  function t(key) { return (UI[state.lang] || UI.en)[key]; }

  function renderHeadings() {
    document.querySelectorAll("[data-ui]").forEach(function (node) { node.textContent = t(node.getAttribute("data-ui")); });
    byId("search").placeholder = t("search");
  }

  function renderRequests() {
    var box = byId("request-list");
    clear(box);
    summaries.forEach(function (s) {
      var b = el("button");
      b.setAttribute("data-phase", s.phase);
      if (s.phase === state.phase) b.className = "current";
      if (s.kind === "registration") {
        b.appendChild(el("span", "", "registration"));
      } else {
        b.appendChild(el("span", "mono", "#" + s.id));
        b.appendChild(el("span", "mono", s.method + " " + s.path));
        var bad = s.status === null || s.status >= 400;
        b.appendChild(el("span", bad ? "st-bad" : "st-ok", (s.status === null ? "-" : s.status) + " " + s.outcome));
        if (s.endpoint) b.appendChild(el("span", "", s.endpoint));
        b.appendChild(el("span", "dim", s.duration_ms.toFixed(1) + " ms"));
      }
      b.addEventListener("click", function () { openPhase(s.phase); });
      box.appendChild(b);
    });
    byId("status").textContent = (head.live ? "● live · " : "") + (summaries.length - 1) + " request(s)";
  }

  function stepLabel(ph, id, row) {
    var k = ph.kind(id), role = ph.role(id), d = ph.detail(id);
    var kindClass = "k-" + k + (role ? " hook" : "");
    row.className = "row " + kindClass;
    if (k === "l") {
      var text = sourceLine(ph.file(id), ph.line(id));
      row.appendChild(el("span", "nm", "line " + ph.line(id)));
      if (text !== null) row.appendChild(el("span", "", "  " + text.trim()));
      var changed = Object.keys(d);
      if (changed.length) row.appendChild(el("span", "at", "  " + changed.map(function (n) { return n + "=" + d[n]; }).join(" ")));
      return;
    }
    var prefix = k === "r" ? "← " : k === "x" ? "✗ " : k === "n" ? "• " : "";
    row.appendChild(el("span", "nm", prefix + ph.name(id)));
    if (role) row.appendChild(el("span", "role", " [" + role + "]"));
    if (k === "r" && "result" in d) row.appendChild(el("span", "", " → " + d.result));
    if (k === "x" && "exception" in d) row.appendChild(el("span", "", " raised " + d.exception));
    if (k === "c" && ph.line(id) !== null) row.appendChild(el("span", "at", "  " + ph.shortFile(id) + ":" + ph.line(id)));
  }

  function renderTree(scrollToCurrent) {
    var ph = current(), box = byId("tree"), spacer = byId("tree-rows");
    if (!ph) return;
    var rows = ph.rows();
    spacer.style.height = (rows.length * ROW) + "px";
    if (scrollToCurrent && ph.current !== null) {
      var at = rows.index(ph.current);
      if (at !== null) {
        var top = at * ROW;
        if (top < box.scrollTop || top + ROW > box.scrollTop + box.clientHeight) box.scrollTop = Math.max(0, top - box.clientHeight / 3);
      }
    }
    var first = Math.max(0, Math.floor(box.scrollTop / ROW) - 5);
    var last = Math.min(rows.length, first + Math.ceil(box.clientHeight / ROW) + 10);
    clear(spacer);
    for (var i = first; i < last; i++) {
      var id = rows.at(i), row = el("div");
      stepLabel(ph, id, row);
      if (id === ph.current) row.className += " current";
      row.setAttribute("data-step", id);
      row.style.top = (i * ROW) + "px";
      row.style.paddingLeft = (4 + ph.depth(id) * 14) + "px";
      var fold = el("span", "fold", ph.hasChildren(id) ? (ph.collapsed.has(id) ? "▸" : "▾") : (ph.isBookmarked(id) ? "★" : " "));
      fold.setAttribute("data-fold", id);
      row.insertBefore(fold, row.firstChild);
      spacer.appendChild(row);
    }
  }

  function sourceLine(file, line) {
    var lines = file === null ? null : sources[file];
    if (!lines || line === null) return null;
    var text = lines[String(line)];
    return text === undefined ? null : text;
  }

  var KEYWORDS = /^(False|None|True|and|as|assert|async|await|break|class|continue|def|del|elif|else|except|finally|for|from|global|if|import|in|is|lambda|nonlocal|not|or|pass|raise|return|try|while|with|yield|self|cls)$/;
  var TOKENS = /(#.*$)|([rbfuRBFU]{0,2}(?:"(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?))|(@[\w.]+)|(\b\d[\d_]*(?:\.\d+)?\b)|([A-Za-z_]\w*)/g;
  function highlighted(text) {
    var frag = document.createDocumentFragment(), last = 0, m;
    TOKENS.lastIndex = 0;
    while ((m = TOKENS.exec(text)) !== null) {
      if (m[0] === "") { TOKENS.lastIndex++; continue; }
      var cls = m[1] ? "tk-com" : m[2] ? "tk-str" : m[3] ? "tk-dec" : m[4] ? "tk-num" : (KEYWORDS.test(m[5]) ? "tk-kw" : null);
      if (m.index > last) frag.appendChild(document.createTextNode(text.slice(last, m.index)));
      if (cls) frag.appendChild(el("span", cls, m[0])); else frag.appendChild(document.createTextNode(m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
    return frag;
  }

  var shownFile = null;
  function renderSource() {
    var ph = current(), box = byId("source"), where = byId("where");
    if (!ph || ph.current === null) { clear(box); where.textContent = ""; shownFile = null; return; }
    var loc = ph.location(ph.current);
    where.textContent = loc.file === null ? loc.name : loc.short + (loc.line !== null ? ":" + loc.line : "") + "  " + loc.name;
    var lines = loc.file === null ? null : sources[loc.file];
    if (!lines) { clear(box); box.appendChild(el("div", "note", t("noSource"))); shownFile = null; return; }
    if (shownFile !== loc.file) {
      clear(box);
      var numbers = Object.keys(lines).map(Number).sort(function (a, b) { return a - b; }), prev = null;
      numbers.forEach(function (n) {
        if (prev !== null && n !== prev + 1) box.appendChild(el("div", "gap", "   ⋮"));
        var ln = el("span", "ln");
        ln.setAttribute("data-line", n);
        ln.appendChild(el("span", "no", n));
        ln.appendChild(highlighted(lines[String(n)]));
        box.appendChild(ln);
        prev = n;
      });
      shownFile = loc.file;
    }
    var old = box.querySelector(".ln.current");
    if (old) old.classList.remove("current");
    var now = loc.line === null ? null : box.querySelector('.ln[data-line="' + loc.line + '"]');
    if (now) {
      now.classList.add("current");
      var top = now.offsetTop - box.offsetTop;
      if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - 20) box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }

  function renderLocals() {
    var ph = current(), box = byId("locals");
    clear(box);
    if (!ph || ph.current === null) return;
    var v = ph.values(ph.current);
    box.appendChild(el("div", "heading", v.heading));
    var table = el("table");
    v.values.concat(v.facts).forEach(function (item) {
      var tr = el("tr", item[2] ? "changed" : "");
      tr.setAttribute("data-name", item[0]);
      tr.appendChild(el("td", "name", item[0]));
      tr.appendChild(el("td", "value", item[1]));
      table.appendChild(tr);
    });
    box.appendChild(table);
  }

  function renderStack() {
    var ph = current(), box = byId("stack");
    clear(box);
    if (!ph || ph.current === null) return;
    [ph.current].concat(ph.ancestors(ph.current)).forEach(function (id, i) {
      var b = el("button", i === 0 ? "current" : "", ph.name(id) + (ph.line(id) !== null ? "  " + ph.shortFile(id) + ":" + ph.line(id) : ""));
      b.setAttribute("data-step", id);
      b.addEventListener("click", function () { move(ph.jump(id)); });
      box.appendChild(b);
    });
  }

  var SVG_ELEMENTS = /^(svg|g|title|path|polygon|polyline|ellipse|circle|rect|line|text|tspan)$/;
  function safeSvg(text) {
    var parsed = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
    if (!parsed || parsed.nodeName !== "svg") return null;
    (function walk(node) {
      Array.prototype.slice.call(node.children).forEach(function (child) {
        if (!SVG_ELEMENTS.test(child.nodeName)) { node.removeChild(child); return; }
        Array.prototype.slice.call(child.attributes).forEach(function (a) {
          if (/^on|href|style/i.test(a.name)) child.removeAttribute(a.name);
        });
        walk(child);
      });
    })(parsed);
    return document.importNode(parsed, true);
  }

  var shownGraph = null;
  function renderGraphs() {
    var ph = current(), box = byId("graph"), tabs = byId("graph-tabs");
    if (!ph) return;
    var graphs = ph.doc.graphs || {};
    clear(tabs);
    ["decorators", "routes"].forEach(function (kind) {
      var b = el("button", state.graph === kind ? "on" : "", t(kind));
      b.setAttribute("data-graph", kind);
      b.addEventListener("click", function () { state.graph = kind; shownGraph = null; renderGraphs(); });
      tabs.appendChild(b);
    });
    var kind = graphs[state.graph] ? state.graph : (graphs.routes ? "routes" : null);
    var key = state.phase + "/" + kind;
    if (shownGraph !== key) {
      clear(box);
      shownGraph = key;
      if (!kind) { box.appendChild(el("div", "note", head.graphviz ? t("noGraph") : head.graphviz_message)); return; }
      var svg = safeSvg(graphs[kind].svg);
      if (!svg) { box.appendChild(el("div", "note", t("noGraph"))); return; }
      box.appendChild(svg);
      var links = graphs[kind].links || {};
      box.querySelectorAll("g.node").forEach(function (node) {
        var title = node.querySelector("title"), name = title ? title.textContent : "";
        if (Object.prototype.hasOwnProperty.call(links, name)) {
          node.classList.add("linked");
          node.setAttribute("data-step", links[name]);
          node.addEventListener("click", function () { move(current().jump(links[name])); });
        }
      });
    }
    var inside = ph.current === null ? new Set() : new Set([ph.current].concat(ph.ancestors(ph.current)));
    var best = null;
    box.querySelectorAll("g.node.linked").forEach(function (node) {
      node.classList.remove("here");
      var step = Number(node.getAttribute("data-step"));
      if (inside.has(step) && (best === null || step > Number(best.getAttribute("data-step")))) best = node;
    });
    if (best) best.classList.add("here");
  }

  function codeText(text) {
    var frag = document.createDocumentFragment();
    String(text).split("`").forEach(function (chunk, i) { frag.appendChild(i % 2 ? el("code", "", chunk) : document.createTextNode(chunk)); });
    return frag;
  }

  var shownExplain = null;
  function renderExplain() {
    var ph = current(), box = byId("explain");
    if (!ph) return;
    var key = state.phase + "/" + state.lang;
    if (shownExplain !== key) {
      clear(box);
      shownExplain = key;
      var doc = (ph.doc.explain || {})[state.lang];
      if (!doc) { box.appendChild(el("div", "note", t("noExplain"))); }
      else doc.sections.forEach(function (section) {
        var target = section.kind === "registration" ? 0 : state.phase;
        box.appendChild(el("h3", "", section.title));
        box.appendChild(itemList(section.items, target));
      });
    }
    var cur = ph.current;
    box.querySelectorAll("li[data-steps]").forEach(function (li) {
      var phase = Number(li.getAttribute("data-phase"));
      var steps = li.getAttribute("data-steps").split(",").map(Number);
      li.classList.toggle("here", phase === state.phase && steps.indexOf(cur) >= 0);
    });
  }
  function itemList(items, phase) {
    var ol = el("ol");
    items.forEach(function (item) {
      var li = el("li");
      li.setAttribute("value", String(item.number).split(".").pop());
      li.setAttribute("data-phase", phase);
      li.setAttribute("data-steps", item.steps.join(","));
      var span = el("span", "text");
      span.appendChild(codeText(item.text));
      if (item.steps.length) span.addEventListener("click", function () { openPhase(phase, item.steps[0]); });
      li.appendChild(span);
      if (item.children && item.children.length) li.appendChild(itemList(item.children, phase));
      ol.appendChild(li);
    });
    return ol;
  }

  function phaseName(index) {
    var s = summaries[index];
    return s && s.kind === "request" ? "r" + s.id : "reg";
  }
  function writeFragment() {
    var ph = current();
    var hash = "#" + phaseName(state.phase) + (ph && ph.current !== null ? "/s" + ph.current : "");
    if (location.hash !== hash) {
      try { history.replaceState(null, "", hash); } catch (e) { location.hash = hash; }
    }
    document.body.setAttribute("data-phase", state.phase);
    document.body.setAttribute("data-step", ph && ph.current !== null ? ph.current : "");
  }

  function render(scroll) {
    renderRequests();
    renderTree(scroll);
    renderSource();
    renderLocals();
    renderStack();
    renderGraphs();
    renderExplain();
    writeFragment();
  }

  function move(target) {
    if (target === null || target === undefined) { flash(); return; }
    render(true);
  }
  function flash() { byId("status").textContent = "nowhere to go"; setTimeout(renderRequests, 800); }

  function openPhase(index, step) {
    if (!phaseAt(index)) return;
    state.phase = index;
    var ph = current();
    ph.setShowLines(state.showLines);
    shownGraph = null; shownExplain = null; shownFile = null;
    if (step !== undefined && step !== null) ph.jump(step);
    byId("tree").scrollTop = 0;
    render(true);
  }

  function readFragment() {
    var m = /^#(reg|r(\d+))(?:\/s(\d+))?$/.exec(location.hash);
    if (!m) return false;
    var index = 0;
    if (m[2] !== undefined) {
      index = -1;
      summaries.forEach(function (s) { if (s.kind === "request" && String(s.id) === m[2]) index = s.phase; });
      if (index < 0) return false;
    }
    openPhase(index, m[3] === undefined ? null : Number(m[3]));
    return true;
  }

  // -- keys, clicks, search ---------------------------------------------------------------

  var KEYS = {
    n: "next", ArrowRight: "next", p: "previous", ArrowLeft: "previous", s: "into",
    o: "out", N: "over", g: "first", G: "last"
  };
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var ph = current();
    if (!ph) return;
    var action = KEYS[event.key];
    if (action) { event.preventDefault(); move(ph[action]()); return; }
    if (event.key === "/") { event.preventDefault(); byId("search").focus(); byId("search").select(); return; }
    if (event.key === "f") { state.showLines = !state.showLines; ph.setShowLines(state.showLines); render(true); return; }
    if (event.key === "b") { ph.toggleBookmark(); render(false); return; }
    if (event.key === "'") { move(ph.nextBookmark()); return; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var next = state.phase + (event.key === "ArrowDown" ? 1 : -1);
      if (next >= 0 && next < summaries.length) openPhase(next);
    }
  });
  byId("search").addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    var ph = current(), query = byId("search").value;
    if (!ph || !query) return;
    var found = ph.search(query);
    if (found === null) { byId("status").textContent = "no step matches"; return; }
    render(true);
  });
  byId("tree").addEventListener("scroll", function () { renderTree(false); });
  byId("tree").addEventListener("click", function (event) {
    var fold = event.target.closest("[data-fold]");
    var ph = current();
    if (fold && ph.toggleFold(Number(fold.getAttribute("data-fold")))) { render(false); return; }
    var row = event.target.closest("[data-step]");
    if (row) move(ph.jump(Number(row.getAttribute("data-step"))));
  });
  byId("lang").addEventListener("change", function () {
    state.lang = byId("lang").value;
    shownExplain = null; shownGraph = null;
    renderHeadings();
    render(false);
  });
  window.addEventListener("hashchange", readFragment);
  window.addEventListener("resize", function () { renderTree(false); });

  // -- live: requests arrive over the page's own event stream -----------------------------

  function addPhase(message) {
    Object.keys(message.sources || {}).forEach(function (file) { sources[file] = message.sources[file]; });
    var index = summaries.length;
    message.summary.phase = index;
    message.phase.phase = index;
    docs[index] = message.phase;
    summaries.push(message.summary);
    renderRequests();
  }
  if (head.live && window.EventSource) {
    var stream = new EventSource("events?from=" + (summaries.length - 1));
    stream.addEventListener("message", function (event) {
      try { addPhase(JSON.parse(event.data)); } catch (e) { /* a broken message is dropped */ }
    });
  }

  (function start() {
    var select = byId("lang");
    head.langs.forEach(function (lang) {
      var option = el("option", "", lang === "zh" ? "中文" : lang === "en" ? "English" : lang);
      option.value = lang;
      select.appendChild(option);
    });
    select.value = state.lang;
    renderHeadings();
    if (!readFragment()) openPhase(state.phase);
  })();
})();
