-- The Lua pager as a memory-policy service changed live (scripts/
-- pager_zero.lua; docs/services.md "The memory-policy service"):
--  * this thread serves a C client (l4.debug.fault, lthread 254) that
--    faults page after page while another thread reloads the pager with
--    a version whose policy doubles the quota: the faults before the swap
--    are answered by version 1, those after by version 2, each exactly
--    once, and the pages given stay given;
--  * versions that do not compile, fail at their top level or in migrate
--    are refused and the pager serves on;
--  * the "pager" service thread of the boot plan (pager_zero.main) under
--    its name: INFO, `services`, reload_file, a Lua task paged by it.
-- Returns the cases in order, {name, function}; init.lua runs them.
local l4 = require "l4"
local pager_zero = require "pager_zero"
local service = require "service"
local DONE = l4.debug.FAULT_DONE
local PAGE = pager_zero.PAGE
local REPORT = 77              -- a helper thread's findings (service.encode)

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end
local shared          -- what the first case leaves the second

local function check(cond, fmt, ...)
  if not cond then error(fmt and fmt:format(...) or "check failed", 2) end
end

-- The pager's own source with `from` replaced by `to` (once, exactly).
local function variant(src, ...)
  local edits = table.pack(...)
  for i = 1, edits.n, 2 do
    local n
    src, n = src:gsub(edits[i], edits[i + 1])
    check(n == 1, "the pager's source changed shape: %q found %d times", edits[i], n)
  end
  return src
end

local SOURCE = assert(service.read_source("pager_zero.lua"))
-- Version 2: twice the quota, and a migrate that counts itself.
local V2 = variant(SOURCE,
  'VERSION = "1"', 'VERSION = "2"',
  "local quota = p%.quota\n", "local quota = p.quota * 2\n",
  "\nreturn M\n$", "\nfunction M.migrate(s) s.migrated = (s.migrated or 0) + 1 return s end\nreturn M\n")

-- A thread of this task that sends the pager `pager` each of the sources
-- as a RELOAD, then PING and INFO, and reports all of it with REPORT.
local HELPER = [[
local pager, report_label, sources = ...
local service = require "service"
local out = {reloads = {}}
for i, src in ipairs(service.decode(sources)) do
  local from, label, gen, v = l4.call(pager, {timeout = 10000}, service.RELOAD, src, "=v" .. i)
  out.reloads[i] = {label = label, gen = gen, v = v}
end
local _, label, name, version = l4.call(pager, {timeout = 5000}, service.PING)
out.ping = {label = label, name = name, version = version}
out.info = assert(service.info(pager, 5000))
l4.call(pager, {timeout = 5000}, report_label, service.encode(out))
]]

local function helper(sources)
  return assert(l4.thread.create{code = HELPER, args = {l4.self(), REPORT, service.encode(sources)}})
end

case("pager_service_reload_while_faulting", function()
  local Q, N = 3, 32
  local base = l4.mem.reserve(17)          -- 32 pages of address space
  local p = pager_zero.new{quota = Q, lo = base, hi = base + N * PAGE, timeout = 1000,
                           trace = true, name = "pager.test"}
  local me = l4.self().task
  local function touch(i, value) assert(l4.debug.fault(base + i * PAGE + 8, value)) end
  -- The client goes page after page (writing 0x100 + i to page i) until
  -- 2Q pages are done; after the first, the helper reloads version 2.
  local words, report, h = {}, nil, nil
  local function other(from, label, a)
    if label == DONE then
      words[#words + 1] = a
      if #words == 1 then h = helper{V2} end
      if #words < 2 * Q then touch(#words, 0x100 + #words) end
    elseif label == REPORT then
      report = service.decode(a)
      l4.reply(from, 0)
    end
    return report ~= nil and #words == 2 * Q
  end
  touch(0, 0x100)
  local from = p:run(other)
  check(from ~= nil, "the pager timed out: %d pages done, report %s", #words, tostring(report))
  -- the reload: taken, migrated once, as the helper saw it
  local r = report.reloads[1]
  check(r.label == service.OK and r.gen == 2 and r.v == "2", "RELOAD: %s", service.encode(r))
  check(report.ping.version == "2" and report.ping.name == "pager.test", "PING: %s", service.encode(report.ping))
  check(report.info.version == "2" and report.info.reloads == 1 and report.info.generation == 2,
        "INFO: %s", service.encode(report.info))
  check(p.version == "2" and p.migrated == 1 and p.generation == 2, "the pager: %s %s", p.version, tostring(p.migrated))
  -- every fault answered once: 2Q pages, each word as written
  check(#words == 2 * Q and p.served == 2 * Q, "%d faults answered, %d pages done", p.served, #words)
  for i, w in ipairs(words) do check(w == 0x100 + i - 1, "page %d read %x", i - 1, w) end
  -- version 1 answered the first ones (at most its quota), version 2 the rest
  local seen, v1, v2, last = {}, 0, 0, "1"
  for _, t in ipairs(p.trace) do
    if t[4] == "served" then
      check(not seen[t[2]], "page %x answered twice", t[2])
      seen[t[2]] = true
      check(t[3] >= last, "version %s answered after version %s", t[3], last)
      last = t[3]
      if t[3] == "1" then v1 = v1 + 1 else v2 = v2 + 1 end
    else
      check(t[4] == "quota" and t[3] == "1", "a refusal: %s", service.encode(t))
    end
  end
  check(v1 >= 1 and v1 <= Q and v1 + v2 == 2 * Q, "version 1 answered %d, version 2 %d", v1, v2)
  print(("pager_service: version 1 answered %d faults, the reload came, version 2 answered %d"):format(v1, v2))
  -- the pages given before the reload stay given: the word is still there
  touch(0)
  local _, label, word = p:run(function(_, l) return l == DONE end)
  check(label == DONE and word == 0x100 and p.served == 2 * Q, "page 0 after the reload: %s", tostring(word))
  check(p:used(me) == 2 * Q, "the client holds %d pages", p:used(me))
  -- one more page is beyond version 2's quota: not answered
  touch(2 * Q, 1)
  check(p:run(function(_, l) return l == DONE end) == nil, "a fault beyond 2Q was answered")
  check(p.last_refused[3] == "quota" and p.last_refused[2] == base + 2 * Q * PAGE + 8, "refused: %s",
        tostring(p.last_refused[3]))
  check(l4.thread.status(h) == "ended", "the helper: %s", l4.thread.status(h))
  shared = {pager = p, base = base, words = words}      -- for the next case
end)

-- The same, the reload sent only when version 1 refuses a fault (its
-- quota is used up): version 2's policy answers the fault that waits.
case("pager_service_reload_answers_a_waiting_fault", function()
  local Q = 2
  local base = l4.mem.reserve(15)          -- 8 pages
  local h
  local p = pager_zero.new{quota = Q, lo = base, hi = base + 8 * PAGE, timeout = 1000, trace = true,
                           on_refuse = function(_, _, _, why) if not h then h = helper{V2} end end}
  local words, report = {}, nil
  assert(l4.debug.fault(base, 0x200))
  p:run(function(from, label, a)
    if label == DONE then
      words[#words + 1] = a
      if #words < 2 * Q then assert(l4.debug.fault(base + #words * PAGE, 0x200 + #words)) end
    elseif label == REPORT then
      report = service.decode(a)
      l4.reply(from, 0)
    end
    return report ~= nil and #words == 2 * Q
  end)
  check(report and report.reloads[1].v == "2", "no reload: %d pages", #words)
  local got = {}
  for _, t in ipairs(p.trace) do got[#got + 1] = ("%s:%d:%s"):format(t[4], (t[2] - base) // PAGE, t[3]) end
  check(table.concat(got, " ") == "served:0:1 served:1:1 quota:2:1 served:2:2 served:3:2",
        "the answers: %s", table.concat(got, " "))
  for i, w in ipairs(words) do check(w == 0x200 + i - 1, "page %d read %x", i - 1, w) end
  check(p:release(l4.self().task) == 2 * Q and l4.thread.status(h) ~= "failed", "release")
end)

case("pager_service_refuses_bad_versions", function()
  local p = assert(shared, "the previous case did not leave its pager").pager
  local base, me = shared.base, l4.self().task
  local bad = {
    "return {",                                                     -- does not compile
    "error('broken on purpose')",                                   -- fails at its top level
    (V2:gsub("\nreturn M\n$", "\nfunction M.migrate(s) error('no migration') end\nreturn M\n")),
    "return {}",                                                    -- no pager module
    "while true do end",                                            -- never ends
  }
  local report
  helper(bad)
  p:run(function(from, label, a)
    if label ~= REPORT then return false end
    report = service.decode(a)
    l4.reply(from, 0)
    return true
  end)
  check(report, "no report from the helper")
  local want = {"^v1:", "broken on purpose", "^migrate: .*no migration", "no pager module",
                "instruction budget"}
  for i, r in ipairs(report.reloads) do
    check(r.label == service.REJECTED and tostring(r.gen):find(want[i]), "bad version %d: %s", i, service.encode(r))
  end
  check(report.info.version == "2" and report.info.generation == 2 and
        report.info.last_error:find("instruction budget"), "INFO after: %s", service.encode(report.info))
  check(p.version == "2" and p.migrated == 1, "the pager changed: %s %s", p.version, tostring(p.migrated))
  -- it serves on, version 2: pages given back are zero and given again
  check(p:release(me) == #shared.words, "release")
  assert(l4.debug.fault(base + 8, 0x42))
  local _, label, word = p:run(function(_, l) return l == DONE end)
  check(label == DONE and word == 0x42 and p.trace[#p.trace][3] == "2", "served after: %s", tostring(word))
  check(p:release(me) == 1, "release after")
  check(l4.debug.mdb_check() == true, "mdb")
  shared = nil
end)

case("pager_service_named", function()
  local id = assert(l4.thread.create{code = "require('pager_zero').main(...)", args = {"pager", 4},
                                     prio = 170, memcap = 8 << 20})
  local names = require "names"
  local named = names.server() ~= nil and names.register("pager", id)
  local who = named and "pager" or id
  local i = assert(service.info(who, 2000))
  check(i.name == "pager" and i.version == "1" and i.generation == 1, "INFO: %s", service.encode(i))
  if named then
    local found
    for _, e in ipairs(assert(service.list())) do if e.name == "pager" then found = e end end
    check(found and found.state == "running" and found.version == "1", "services: %s", service.encode(found or {}))
    -- what `reload pager pager_zero.lua` does at the REPL
    local v, gen = service.reload_file("pager", "pager_zero.lua")
    check(v == "1" and gen == 2, "reload_file: %s %s", tostring(v), tostring(gen))
  end
  -- a Lua task paged by it: its runtime's faults are forwarded
  local t = assert(l4.task.spawn{script = "task_child.lua", pager = id, args = {"return"}, name = "paged-by-pager"})
  local how = l4.task.wait(t, 5000)
  l4.task.delete(t)
  check(how == "exited", "the paged task: %s", tostring(how))
  local _, label, served, refused, forwarded = l4.call(id, {timeout = 2000}, pager_zero.STATS)
  check(label == 0 and forwarded > 20 and refused == 0, "STATS: %s %s %s", tostring(label), tostring(forwarded),
        tostring(refused))
  -- a late reply (label 0, its caller gone) is dropped, not answered
  local from, late, what = l4.call(id, {timeout = 300}, 0, "a late reply")
  check(from == nil, "a late reply was answered: label %s, %s", tostring(late), tostring(what))
  i = assert(service.info(id, 2000))
  check(i.requests >= forwarded and i.generation == (named and 2 or 1), "INFO after: %s", service.encode(i))
  if named then names.unregister("pager") end
  assert(l4.thread.kill(id))
end)

return cases
