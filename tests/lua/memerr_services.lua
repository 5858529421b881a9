-- Allocation failure at each allocation of the clients of the service
-- framework, the name service, the file service and the console
-- (tests/lua/memerr_util.lua, as memerr.lua does for the l4 bindings):
-- with this state's n-th allocation failing, for every n until a run
-- gets through, each call fails with Lua's "not enough memory" (raised,
-- or returned as nil and a message where the library turns errors into
-- results), this state holds nothing more after it, and the servers go
-- on: the next call, without a limit, is answered. Runs after services.lua
-- (its name service and echo service are still up); starts and stops a
-- file service of its own, as files_test.lua does.
local u = require "bindings_util"
local m = require "memerr_util"
local service = require "service"
local names = require "names"
local files = require "files"
local eq = u.eq
local cases, case = u.cases()
local each_failure = m.each_failure

local ECHO = 1
-- The servers are Lua tasks whose heaps live in the pager's pool: they
-- grow and shrink with their own garbage while they serve, so the pool's
-- used pages are not this state's to answer for (its own memory, kernel
-- frames, threads and tasks still are).
local SERVERS_GROW = {used = true}

-- check(value) of what f returns, or f's nil and message passed on (a
-- failed run's "not enough memory" as a result).
local function checked(f, check)
  return function()
    local v, err = f()
    if v == nil then return nil, err end
    return check(v)
  end
end

-- A client that gets through returns a truthy value; a failing run must
-- fail with the memory error: each_failure checks both.
local function sweep(calls, opts)
  local runs = 0
  for _, c in ipairs(calls) do
    local n, got = each_failure(c[1], opts, c[2])
    assert(got, c[1] .. " did not get through")
    runs = runs + n
  end
  return runs
end

-- The service framework's client and the name service, with a task of
-- its own running services/echo.lua (services.lua's echo has been
-- reloaded to other versions) as the server: it and the name service
-- answer after every failed call.
case("memerr_service_clients", function()
  local ns = assert(names.server(), "no name service")
  local echo_task = assert(l4.task.spawn{script = "service_task.lua", name = "memerr.echo",
    args = {"memerr.echo", "services/echo.lua", ns.raw, false, false, false, n = 6},
    memcap = 4 << 20})
  assert(service.wait("memerr.echo", 3000), "memerr.echo did not come up")
  local function servers_answer()
    local n, a = service.call("memerr.echo", ECHO, 5)
    if type(n) ~= "number" or a ~= 5 then
      return ("echo then answered %s, %s"):format(tostring(n), tostring(a))
    end
    if names.lookup("memerr.echo") == nil then return "the name service then lost echo" end
  end
  local many = {}
  for i = 1, 20 do many[i] = i * 1000 end        -- (at most 8 of them could be strings)
  local calls = {
    {"service.call", function()
      local n, a, b = service.call("memerr.echo", ECHO, 7, "seven")
      return type(n) == "number" and a == 7 and b == "seven"
    end},
    {"service.call (20 values)", function()
      local r = table.pack(service.call("memerr.echo", ECHO, table.unpack(many)))
      return r.n == 21 and r[21] == 20000
    end},
    {"service.call (an error reply)", function()
      local x, err, code = service.call("memerr.echo", 3, "no good")
      return x == nil and err == "no good" and code == service.E_HANDLER
    end},
    {"service.info", checked(function() return service.info("memerr.echo") end,
                             function(i) return i.requests > 0 end)},
    {"service.list", checked(service.list, function(l) return #l > 0 end)},
    {"names.lookup", function() return names.lookup("memerr.echo") end},
    {"names.list", checked(names.list, function(l) return #l > 0 end)},
    {"names.register", function() return names.register("memerr.me", l4.self()) end},
  }
  local ok, runs = pcall(sweep, calls, {errors = true, again = servers_answer, skip = SERVERS_GROW})
  l4.task.delete(echo_task)
  names.unregister("memerr.echo")
  assert(ok, runs)
  assert(names.unregister("memerr.me"))
  eq(names.lookup("memerr.me"), nil, "unregistered")
  assert(runs > #calls, ("only %d failing runs for %d calls"):format(runs, #calls))
  print(("ok memerr_service_clients (%d calls, %d failing runs)"):format(#calls, runs))
  return "printed"
end)

-- The service framework's own loop (scripts/service.lua, and l4.serve,
-- its loop in C) with the server's allocations failing: a task serving
-- services/echo.lua, and for n = 0, 1, 2, ... the root arms a memcap
-- fault in it (FAULT: the allocation after n more fails, counted from the
-- next request's handler and left armed past it) and makes a round of
-- requests that takes each way through the loop: the Lua loop and the C
-- one, integers and strings, a handler's error, a control request, an
-- unknown label. So the failure falls on the handler, the reply's
-- building, its sending, the next receive and the taking of the next
-- message, in turn. Each request of the round must be answered: right,
-- or with an error reply that says "not enough memory" (none lost,
-- waiting for ever); the same task goes on serving; its errors count
-- says one failure; nothing piles up (its Lua memory, its threads, the
-- kernel's frames). The sweep ends at the first n whose round meets no
-- failure. Before the fix a failure outside the handler's pcall ended
-- the service, and one in the taking of a message lost it.
case("memerr_service_loop", function()
  local proto = require "service_proto"
  local ns = assert(names.server(), "no name service")
  local task = assert(l4.task.spawn{script = "service_task.lua", name = "memerr.loop",
    args = {"memerr.loop", "services/echo.lua", ns.raw, false, false, false, n = 6},
    memcap = 4 << 20})
  local ECHO_, FAIL = 1, 3
  local LONG = ("0123456789abcdef"):rep(256)
  local TWENTY = {ECHO_}
  for i = 1, 20 do TWENTY[i + 1] = i end
  local ok, err = pcall(function()
    local id = assert(service.wait("memerr.loop", 3000), "memerr.loop did not come up")
    local function call(...) return l4.call(id, {timeout = 3000}, ...) end
    -- -> the errors count, the Lua memory, whether INFO met the failure
    -- (then it answers the memory error, and is asked again)
    local function info()
      local met = false
      for _ = 1, 2 do
        local from, label, a, errors, _, _, _, _, mem = call(proto.INFO)
        assert(from == id, "INFO not answered: " .. tostring(label))
        if label == proto.OK then return errors, mem, met end
        assert(label == proto.ERROR and tostring(a):find(m.NOMEM, 1, true),
               ("INFO answered %s, %s"):format(tostring(label), tostring(a)))
        met = true
      end
      error("INFO failed twice")
    end
    local function threads()
      local n = 0
      for _, t in ipairs(l4.sys.threads()) do if t.task == task.task then n = n + 1 end end
      return n
    end
    -- a round: {what, the request's values, check of an OK reply's values,
    -- the error text a right answer has (nil: an OK reply is right)}
    local round = {
      {"ECHO (after the fault)", {ECHO_, 7}, function(c, a) return math.type(c) == "integer" and a == 7 end},
      {"ECHO (the C loop)", {ECHO_, 8, 9}, function(_, a, b) return a == 8 and b == 9 end},
      {"ECHO a string", {ECHO_, 10, "str"}, function(_, a, b) return a == 10 and b == "str" end},
      {"ECHO after a string", {ECHO_, 11}, function(_, a) return a == 11 end},
      {"ECHO 8 values", {ECHO_, 1, 2, 3, 4, 5, 6, 7, 8},
       function(_, a, _, _, _, _, _, _, h) return a == 1 and h == 8 end},
      {"ECHO a long string", {ECHO_, LONG}, function(_, a) return a == LONG end},
      {"ECHO 20 values", TWENTY, function(_, a, ...) return a == 1 and select("#", ...) == 19 end},
      {"a handler's error", {FAIL, "boom"}, nil, "boom"},
      {"ECHO after an error", {ECHO_, 12}, function(_, a) return a == 12 end},
      {"PING", {proto.PING}, function(name) return name == "memerr.loop" end},
      {"an unknown label", {99}, nil, "no handler for label 0x63", proto.UNKNOWN},
      {"ECHO last", {ECHO_, 13}, function(_, a) return a == 13 end},
    }
    local function show(t)
      local out = {}
      for i = 2, t.n do out[#out + 1] = tostring(t[i]) end
      return table.concat(out, ", ")
    end
    local base_kmem, base_threads = l4.debug.kmem(), threads()
    local errors0, mem0 = info()
    local runs, where = 0, {}
    local done = false
    for n = 0, 5000 do
      local from, label = call(proto.FAULT, n, "memcap")
      assert(from == id and label == proto.OK, ("n = %d: FAULT not taken (%s)"):format(n, tostring(label)))
      local seen = nil        -- the request that met the failure
      for i, r in ipairs(round) do
        local what, check, text, elabel = r[1], r[3], r[4], r[5] or proto.ERROR
        local got = table.pack(call(table.unpack(r[2])))
        assert(got[1] == id, ("%s, n = %d: no answer (%s): a request lost"):format(what, n, tostring(got[2])))
        if got[2] == proto.ERROR and tostring(got[3]):find(m.NOMEM, 1, true) then
          assert(not seen, ("%s, n = %d: a second memory error in a round (the first at %s)"):format(
            what, n, tostring(seen)))
          seen = what
        elseif text then
          assert(got[2] == elabel and got[3] == text, ("%s, n = %d: answered %s, %s"):format(
            what, n, tostring(got[2]), tostring(got[3])))
        else
          assert(got[2] == proto.OK and check(table.unpack(got, 3, got.n)),
                 ("%s, n = %d: a wrong answer (%s)"):format(what, n, show(got)))
        end
      end
      local errors, _, met = info()
      if met then
        assert(not seen, ("INFO, n = %d: a second memory error in a round (the first at %s)"):format(
          n, tostring(seen)))
        seen = "INFO"
      end
      local failures = errors - errors0 - 1     -- the handler's error of each round is one
      errors0 = errors
      assert(failures == 0 or failures == 1, ("n = %d: %d failures counted in one round"):format(n, failures))
      assert(not seen or failures == 1, ("n = %d: %s answered the memory error, not counted"):format(n, seen))
      eq(l4.task.info(task).state, "running", ("n = %d: the service's task"):format(n))
      if failures == 0 then done = true break end
      runs = runs + 1
      where[seen or "(no client's request)"] = (where[seen or "(no client's request)"] or 0) + 1
    end
    assert(done, "the sweep did not end")
    eq(names.lookup("memerr.loop"), id, "the service's name")
    eq(threads(), base_threads, "the service's threads")
    eq(l4.debug.kmem(), base_kmem, "kernel frames in use")
    local _, mem = info()
    assert(mem < mem0 + (64 << 10), ("the service's Lua memory %d -> %d bytes"):format(mem0, mem))
    assert(runs >= 4, ("only %d failing runs"):format(runs))
    local parts = {}
    for w, k in pairs(where) do parts[#parts + 1] = ("%s %d"):format(w, k) end
    table.sort(parts)
    print(("ok memerr_service_loop (%d failing runs; met by: %s)"):format(runs, table.concat(parts, ", ")))
  end)
  l4.task.delete(task)
  names.unregister("memerr.loop")
  assert(ok, err)
  return "printed"
end)

-- io.open, read, write, close, io.lines, os.rename, os.remove and the
-- files module over a file service: more failing runs than the runtime
-- has file slots (16), so a failed open or close that kept its slot
-- would end in "too many open files", not the memory error.
case("memerr_file_clients", function()
  local server = assert(l4.task.spawn{script = "files.lua", args = {"serve", 256 << 10},
                                      name = "files", memcap = 8 << 20})
  assert(l4.sys.set_files(server))
  local body = ("0123456789"):rep(500) .. "end\n"
  local ok, err = pcall(function()
    assert(files.write("memerr/keep.txt", body))
    local function service_answers()
      local f, e = io.open("memerr/probe.txt", "w")
      if not f then return "io.open then failed: " .. tostring(e) end
      f:write("probe")
      if not f:close() then return "close then failed" end
      if files.read("memerr/keep.txt") ~= body then return "the kept file then read wrong" end
    end
    local calls = {
      {"io.open, write, close", function()
        local f, e = io.open("memerr/w.txt", "w")
        if not f then return nil, e end
        local w, e2 = f:write(body)
        if not w then f:close() return nil, e2 end
        return f:close()
      end},
      {"io.open, read", function()
        local f, e = io.open("memerr/keep.txt")
        if not f then return nil, e end
        local got = f:read("a")
        f:close()
        return got == body
      end},
      {"io.lines", function()
        local n = 0
        for line in io.lines("memerr/keep.txt") do n = n + #line end
        return n == #body - 1
      end},
      {"os.rename there and back", function()
        local r, e = os.rename("memerr/keep.txt", "memerr/moved.txt")
        if not r then return nil, e end
        return os.rename("memerr/moved.txt", "memerr/keep.txt")
      end},
      {"os.remove", function()
        local f = io.open("memerr/gone.txt", "w")
        if f then f:write("x") f:close() end
        return os.remove("memerr/gone.txt")
      end},
      {"files.list", checked(function() return files.list("memerr") end,
                             function(l) return #l >= 1 end)},
      {"files.stat", checked(function() return files.stat("memerr/keep.txt") end,
                             function(st) return st.size == #body end)},
    }
    local runs = sweep(calls, {errors = true, again = service_answers, skip = SERVERS_GROW})
    eq(files.read("memerr/w.txt"), body, "what the run that got through wrote")
    eq(files.read("memerr/keep.txt"), body, "the kept file")
    -- every slot free: sixteen files open at once
    local open = {}
    for i = 1, 16 do open[i] = assert(io.open("memerr/keep.txt")) end
    for i = 1, 16 do open[i]:close() end
    assert(runs > 16, ("only %d failing runs: too few to show a lost file slot"):format(runs))
    print(("ok memerr_file_clients (%d calls, %d failing runs)"):format(#calls, runs))
  end)
  l4.task.delete(server)
  assert(l4.sys.set_files(nil))
  assert(ok, err)
  return "printed"
end)

-- The file service itself, with its own allocations failing: for each
-- kind of request and n = 0, 1, 2, ..., the root arms a memcap fault in
-- the server (FAULT: its Lua state refuses the request's allocation after
-- n, scripts/fault.lua) and makes the request. Each run must end in the
-- request done or an error reply that says "not enough memory"; the
-- server must go on (the same task, answering), and its files must be
-- as the requests that got through left them. The sweep of a kind ends
-- at the first run that gets through.
case("memerr_file_server", function()
  local proto = require "service_proto"
  local server = assert(l4.task.spawn{script = "files.lua", args = {"serve", 256 << 10},
                                      name = "files", memcap = 8 << 20})
  assert(l4.sys.set_files(server))
  local body = ("abcdefghij"):rep(300)
  local ok, err = pcall(function()
    assert(files.write("memerr/s/keep.txt", body))
    local calls = {
      {"write", function() return files.write("memerr/s/w.txt", body) end,
       function() return files.read("memerr/s/w.txt") == body end},
      {"write (a second version)", function() return files.write("memerr/s/w.txt", body .. "2") end,
       function() local d = files.read("memerr/s/w.txt") return d == body .. "2" end},
      {"read", checked(function() return files.read("memerr/s/keep.txt") end,
                       function(d) return d == body end)},
      {"stat", checked(function() return files.stat("memerr/s/keep.txt") end,
                       function(st) return st.size == #body end)},
      {"list", checked(function() return files.list("memerr/s") end,
                       function(l) return #l == 2 end)},
      {"info", checked(function() return files.info() end,
                       function(i) return i.files >= 2 end)},
      {"remove", function() return files.remove("memerr/s/w.txt") end,
       function() return files.read("memerr/s/w.txt") == nil end},
    }
    local runs = 0
    for _, c in ipairs(calls) do
      local name, call, check = c[1], c[2], c[3]
      local done = false
      for n = 0, 5000 do
        local from, label = l4.call(server, {timeout = 2000}, proto.FAULT, n, "memcap")
        assert(from == server and label == proto.OK, ("%s, n = %d: FAULT not taken (%s)"):format(name, n, tostring(label)))
        local r, why = call()
        if r then done = true break end
        if r == false then error(("%s with the server's allocation %d failing: a wrong answer"):format(name, n)) end
        if not tostring(why):find("not enough memory", 1, true) then
          error(("%s with the server's allocation %d failing: %s, not the memory error"):format(
            name, n, tostring(why)))
        end
        runs = runs + 1
        eq(l4.task.info(server).state, "running", name .. ": the file service after a failed run")
        assert(files.read("memerr/s/keep.txt") == body,
               ("%s, n = %d: the kept file then read wrong"):format(name, n))
      end
      assert(done, name .. ": no run got through")
      if check then assert(check(), name .. ": what the run that got through did is not there") end
    end
    eq(files.read("memerr/s/keep.txt"), body, "the kept file at the end")
    assert(runs > #calls, ("only %d failing runs for %d requests"):format(runs, #calls))
    print(("ok memerr_file_server (%d requests, %d failing runs)"):format(#calls, runs))
  end)
  l4.task.delete(server)
  assert(l4.sys.set_files(nil))
  assert(ok, err)
  return "printed"
end)

-- The console server itself (drivers-lua/console_server.lua), with its
-- own allocations failing: a server in a root thread over a backend that
-- shows nothing (TAIL tells what it showed; its input comes by INPUT,
-- as a TCP console's does). For each request of the console protocol and
-- n = 0, 1, 2, ..., the root arms a memcap fault in it (FAULT, lifted when
-- the request ends) and makes the request: each run ends in the request
-- done or an ERROR reply that says "not enough memory", and leaves the
-- server as it was (a write not shown, keys not taken, the history as
-- before); the same thread goes on, and answers the next request right.
case("memerr_console_server", function()
  local proto = require "service_proto"
  local console = require "console"
  local server = assert(l4.thread.create{memcap = 8 << 20, code = [[
    require("console_server").serve({write = function() end}, {name = "memerr.con"})]]})
  local function call(label, ...)
    local from, l, a, b = l4.call(server, {timeout = 2000}, label, ...)
    assert(from == server, ("the console server did not answer (%s)"):format(tostring(l)))
    return l, a, b
  end
  local function ok(label, ...)
    local l, a, b = call(label, ...)
    assert(l == console.OK, ("the console server answered %s, %s"):format(tostring(l), tostring(a)))
    return a, b
  end
  local ok_, err = pcall(function()
    local base_kmem = l4.debug.kmem()
    local k, keys = 0, nil
    local function tail_ends(text) local t = ok(console.TAIL) return t:sub(-#text) == text end
    local function history() return ok(console.HIST_GET) end
    local calls = {
      {"WRITE", function()
        k = k + 1
        local line = ("memerr line %d\n"):format(k)
        local l, n = call(console.WRITE, line)
        if l == console.OK then
          assert(n == #line and tail_ends(line), "a write acknowledged is not what was shown last")
          return true
        end
        assert(not tail_ends(line), "a write that failed was shown")
        return nil, l, n
      end},
      {"READ", before = function()       -- keys that came before the fault was armed
        k = k + 1
        keys = ("keys %d\n"):format(k)
        ok(console.INPUT, keys)
      end, function()
        local l, data = call(console.READ, 4096)
        if l == console.OK then return data == keys end
        return nil, l, data
      end, failed = function(n)      -- the keys were not taken: the next READ has them
        eq(ok(console.READ, 4096), keys, "READ, n = " .. n .. ": the keys after a failed run")
      end},
      {"HIST_ADD", function()
        k = k + 1
        local before = history()
        local line = ("history line %d"):format(k)
        local l, why = call(console.HIST_ADD, line)
        if l == console.OK then return history():sub(-#line) == line end
        assert(history() == before, "a HIST_ADD that failed changed the history")
        return nil, l, why
      end},
      {"HIST_GET", function()
        local l, text = call(console.HIST_GET)
        if l == console.OK then return text == history() end
        return nil, l, text
      end},
      {"TAIL", function()
        local l, text = call(console.TAIL, 100)
        if l == console.OK then return #text > 0 end
        return nil, l, text
      end},
      {"EDIT", function()
        local l, why = call(console.EDIT, 5, "> abc")
        if l == console.OK then ok(console.DONE) return true end
        return nil, l, why
      end},
      {"HIST_SET", function()
        local l, why = call(console.HIST_SET, "one\ntwo\nthree")
        if l == console.OK then return history() == "one\ntwo\nthree" end
        return nil, l, why
      end},
    }
    local runs = 0
    for _, c in ipairs(calls) do
      local name, run = c[1], c[2]
      local done = false
      for n = 0, 5000 do
        if c.before then c.before() end
        local l = call(proto.FAULT, n, "memcap")
        assert(l == proto.OK, ("%s, n = %d: FAULT not taken (%s)"):format(name, n, tostring(l)))
        local r, rl, why = run()
        if r then done = true break end
        if r == false then error(("%s with the allocation %d failing: a wrong answer"):format(name, n)) end
        if rl ~= console.ERROR or not tostring(why):find("not enough memory", 1, true) then
          error(("%s with the allocation %d failing: %s, %s, not an error for the memory"):format(
            name, n, tostring(rl), tostring(why)))
        end
        runs = runs + 1
        eq(l4.thread.status(server), "running", name .. ": the console server after a failed run")
        if c.failed then c.failed(n) end
        assert(ok(console.WRITE, "after\n") == 6, name .. ": the next write")
      end
      assert(done, name .. ": no run got through")
    end
    eq(l4.thread.status(server), "running", "the console server after the sweep")
    eq(l4.debug.kmem(), base_kmem, "kernel frames in use after the sweep")
    assert(runs > #calls, ("only %d failing runs for %d requests"):format(runs, #calls))
    print(("ok memerr_console_server (%d requests, %d failing runs)"):format(#calls, runs))
  end)
  l4.thread.kill(server)
  assert(ok_, err)
  return "printed"
end)

-- The console's client (runtime/lua/console.c): print and io.write with
-- allocations failing; the console goes on (what got through is on the
-- serial line, which tests/run.py sees: the "ok" line below).
case("memerr_console_clients", function()
  local calls = {
    {"print", function() print("memerr: a print that got through") return true end},
    {"io.write", function()
      return io.write("memerr: ", "an io.write that got through", "\n") == io.stdout
    end},
    {"string.format and print", function()
      print(("memerr: %d %s %.1f"):format(42, "formatted", 1.5))
      return true
    end},
  }
  local runs = sweep(calls, {})
  print(("ok memerr_console_clients (%d calls, %d failing runs)"):format(#calls, runs))
  return "printed"
end)

return cases
