-- The machinery of the allocation-failure tests (tests/lua/memerr.lua,
-- memerr_services.lua), in the spirit of Lua's testes/memerr.lua: run a
-- function with this state's allocations failing after n of them
-- (l4.debug.alloc_limit), for n = 0, 1, 2, ... until a run gets through,
-- and check that each failed run raised (or returned) Lua's "not enough
-- memory" and left nothing held.
local u = require "bindings_util"

local NOMEM = "not enough memory"
local LUA_SLACK = 8               -- KiB: this state's stack and call frames grow
                                  -- with the depth the snapshot is taken at

local function limited(n, f, ...)
  l4.debug.alloc_limit(n)
  return f(...)
end

-- What a failed run may not leave behind: the state's Lua memory, pool
-- pages, task records, kernel frames, Lua threads and tasks.
local function snapshot()
  collectgarbage(); collectgarbage()
  local s = u.usage()
  s.tasks = l4.task.stats().tasks
  s.threads = 0
  local me = l4.self().task
  for _, t in ipairs(l4.sys.threads()) do
    if t.task == me then s.threads = s.threads + 1 end
  end
  return s
end

-- The leaks of now against base (nil if none); skip names what may
-- change by design.
local function leaks(base, now, skip)
  local bad = {}
  if now.lua > base.lua + LUA_SLACK then
    bad[#bad + 1] = ("Lua KiB %.1f -> %.1f"):format(base.lua, now.lua)
  end
  for _, k in ipairs{"used", "records", "kmem", "tasks", "threads"} do
    if now[k] ~= base[k] and not (skip and skip[k]) then
      bad[#bad + 1] = ("%s %d -> %d"):format(k, base[k], now[k])
    end
  end
  return #bad > 0 and table.concat(bad, ", ") or nil
end

-- Runs f(...) failing at each allocation in turn, n = 0, 1, ... until a
-- run gets through. opts: measure() a value that each failed run must
-- leave as it was (sigma0's free RAM, whether a line is attached);
-- a first call is made without a limit, so that what a first call fills
-- for good (a metatable, a constant table) is not counted, and after(...)
-- releases what it took (detach, unmap; warm = false leaves that call
-- out); again() a look right after a failed run, before the garbage is
-- collected: a message if the function does not work as it should then;
-- skip (leaks above); errors: a run may also fail by returning nil and a
-- message that says "not enough memory" (a library that turns errors
-- into results, as service.call and io.open do).
-- After each failed run the snapshot must be back where it was; a thread
-- or task a run started may take a moment to end, so it is looked at
-- again for up to 2 s. -> the number of failing runs, then the results
-- of the run that got through (the caller's to release).
local function each_failure(what, opts, f, ...)
  if opts.warm ~= false then
    local r = table.pack(f(...))
    if opts.after then opts.after(table.unpack(r, 1, r.n)) end
  end
  local base, mark = snapshot(), opts.measure and opts.measure()
  for n = 0, 100000 do
    local ok, a, b, c, d = pcall(limited, n, f, ...)
    l4.debug.alloc_limit()
    if ok and opts.errors and a == nil and type(b) == "string" and b:find(NOMEM, 1, true) then
      ok, a = false, NOMEM        -- the library's own way to fail: nil, message
    end
    if ok then return n, a, b, c, d end
    if a ~= NOMEM then
      error(("%s with allocation %d failing: raised %q, not %q"):format(what, n, tostring(a), NOMEM), 2)
    end
    local why = opts.again and opts.again()
    if why then error(("%s with allocation %d failing, then: %s"):format(what, n, why), 2) end
    local bad
    u.wait_for(2000, function()
      bad = leaks(base, snapshot(), opts.skip)
      local m = opts.measure and opts.measure()
      if m ~= mark then
        bad = (bad and bad .. ", " or "") .. ("%s -> %s"):format(tostring(mark), tostring(m))
      end
      return bad == nil
    end)
    if bad then error(("%s with allocation %d failing left %s"):format(what, n, bad), 2) end
  end
  error(what .. ": no run got through")
end

return {NOMEM = NOMEM, snapshot = snapshot, leaks = leaks, each_failure = each_failure}
