-- The dashboard's page (scripts/dashboard.lua serves it at /): plain
-- HTML and a script that asks /api/state every second and draws it. The
-- archive packs .lua files only, so the page is a Lua string. Element
-- ids are what the browser test (tests/host/net/browser.py) reads.
return [==[<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>L4ua dashboard</title>
<style>
body { font: 14px/1.35 sans-serif; margin: 1em 2em; background: #fafafa; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin: 1.2em 0 .3em; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #111; color: #ddd; padding: .5em; max-height: 18em; overflow: auto; font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(40em, 1fr)); gap: 0 2em; }
#status { color: #666; } .bad { color: #b00; } .good { color: #070; }
</style></head>
<body>
<h1>L4ua <span id="status">connecting...</span></h1>
<div>up <b id="uptime">?</b> s &middot; updated <span id="updates">0</span> times &middot;
<span id="message"></span></div>
<div class="grid">
<div><h2>Services</h2>
<table id="services"><thead><tr><th>name</th><th>version</th><th>requests</th><th>errors</th>
<th>reloads</th><th>restarts</th><th>state</th><th></th></tr></thead><tbody></tbody></table></div>
<div><h2>Tasks</h2>
<table id="tasks"><thead><tr><th>task</th><th>name</th><th>state</th><th>pages</th>
<th>heap KiB</th><th>cap KiB</th></tr></thead><tbody></tbody></table></div>
<div><h2>Threads</h2>
<table id="threads"><thead><tr><th>task</th><th>name</th><th>thread</th><th>state</th>
<th>prio</th><th>CPU ms</th></tr></thead><tbody></tbody></table></div>
<div><h2>Memory</h2><table id="memory"><tbody></tbody></table>
<h2>Interrupts</h2>
<table id="irqs"><thead><tr><th>line</th><th>owner</th><th>task</th><th>count</th></tr></thead>
<tbody></tbody></table>
<h2>HTTP server</h2><table id="httpd"><tbody></tbody></table>
<h2>Network</h2><table id="net"><tbody></tbody></table></div>
</div>
<h2>Console</h2><pre id="conlog"></pre>
<h2>Kernel log</h2><pre id="klog"></pre>
<h2>Lua</h2>
<form id="lua-form"><input id="lua-line" size="60" placeholder="a line of Lua, run in the root task">
<button id="lua-run" type="submit">run</button></form>
<pre id="lua-out"></pre>
<script>
"use strict";
let updates = 0;
function cell(row, text, cls) {
  const td = row.insertCell(); td.textContent = text == null ? "-" : String(text);
  if (cls) td.className = cls; return td;
}
function fill(id, rows, draw) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  for (const r of rows || []) draw(body.insertRow(), r);
}
function kib(b) { return b == null ? null : Math.ceil(b / 1024); }
function pairs(id, obj) {
  fill(id, Object.keys(obj || {}).sort().map(k => [k, obj[k]]), (tr, kv) => {
    cell(tr, kv[0]); cell(tr, kv[1], "n"); tr.dataset.key = kv[0]; });
}
function show(s) {
  document.getElementById("uptime").textContent = (s.uptime_ms / 1000).toFixed(1);
  document.getElementById("updates").textContent = ++updates;
  fill("services", s.services, (tr, v) => {
    tr.dataset.name = v.name;
    cell(tr, v.name); cell(tr, v.version).className = "version";
    cell(tr, v.requests, "n"); cell(tr, v.errors, "n");
    cell(tr, v.reloads, "n").classList.add("reloads");
    cell(tr, v.restarts, "n").classList.add("restarts"); cell(tr, v.state);
    const b = document.createElement("button");
    b.textContent = "reload"; b.className = "reload"; b.dataset.name = v.name;
    b.onclick = () => reload(v.name);
    tr.insertCell().appendChild(b);
  });
  fill("tasks", s.tasks, (tr, t) => {
    tr.dataset.name = t.name || "";
    cell(tr, t.task, "n"); cell(tr, t.name); cell(tr, t.state); cell(tr, t.pages, "n");
    cell(tr, kib(t.heap), "n"); cell(tr, kib(t.memcap), "n");
  });
  fill("threads", s.threads, (tr, t) => {
    tr.dataset.id = t.id;
    cell(tr, t.task, "n"); cell(tr, t.name); cell(tr, t.id); cell(tr, t.state);
    cell(tr, t.prio, "n"); cell(tr, t.cpu_ms, "n").className = "n cpu";
  });
  pairs("memory", s.memory);
  fill("irqs", s.irqs, (tr, q) => {
    cell(tr, q.line, "n"); cell(tr, q.owner); cell(tr, q.task); cell(tr, q.count, "n"); });
  pairs("httpd", s.httpd);
  pairs("net", s.net);
  for (const id of ["klog", "conlog"]) {
    const pre = document.getElementById(id), end = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = s[id] || "";
    if (end) pre.scrollTop = pre.scrollHeight;
  }
  document.getElementById("lua-line").disabled = !s.lua_enabled;
  document.getElementById("lua-run").disabled = !s.lua_enabled;
  if (!s.lua_enabled) document.getElementById("lua-out").textContent =
    "running Lua from here is off (enable it in init.lua: docs/network.md)";
}
function say(text, good) {
  const m = document.getElementById("message");
  m.textContent = text; m.className = good ? "good" : "bad";
}
async function post(path, body) {
  const r = await fetch(path, {method: "POST", body: body,
                               headers: {"Content-Type": "application/x-www-form-urlencoded"}});
  return [r.status, await r.json()];
}
async function reload(name) {
  try {
    const [code, j] = await post("/api/reload", "name=" + encodeURIComponent(name));
    say(j.ok ? "reloaded " + name + ": version " + j.version : j.error, j.ok);
  } catch (e) { say("reload " + name + ": " + e, false); }
  poll();
}
document.getElementById("lua-form").onsubmit = async ev => {
  ev.preventDefault();
  const out = document.getElementById("lua-out");
  try {
    const [code, j] = await post("/api/lua", document.getElementById("lua-line").value);
    out.textContent = j.ok ? j.output : j.error;
  } catch (e) { out.textContent = String(e); }
};
async function poll() {
  try {
    const r = await fetch("/api/state");
    const s = await r.json();
    if (!r.ok) throw new Error(s.error || r.status);
    show(s);
    const st = document.getElementById("status");
    st.textContent = "live"; st.className = "good";
  } catch (e) {
    const st = document.getElementById("status");
    st.textContent = "not reachable: " + e; st.className = "bad";
  }
}
poll();
setInterval(poll, 1000);
</script>
</body></html>
]==]
