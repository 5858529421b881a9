-- Fakes for tests/shell/run.lua: a console that records what the REPL
-- shows, and an `l4` table with the data the shell commands read.
local M = {}
local assert, error, setmetatable, tostring, type = assert, error, setmetatable, tostring, type
local concat, mathtype = table.concat, math.type

-- con: write/edit/done as the console server offers them; screen() is
-- everything left on the terminal, line is the current edit line.
function M.con()
  local c = { parts = {}, edits = 0 }
  function c:write(s) self.parts[#self.parts + 1] = s end
  function c:edit(text, col)
    assert(type(text) == "string" and mathtype(col) == "integer", "con:edit(text, col)")
    assert(col >= 0 and col <= #text, "cursor outside the line")
    self.edits = self.edits + 1
    self.line, self.col = text, col
  end
  function c:done()
    self.parts[#self.parts + 1] = (self.line or "") .. "\r\n"
    self.line, self.col = nil, nil
  end
  function c:read() error("the fake console has no input") end
  function c:screen() return concat(self.parts) end
  return c
end

-- Thread ids: userdata in the guest; tables with the same fields and
-- __tostring here. Interned, so == works as with the real ones.
local idmt = { __name = "l4.id" }
function idmt.__tostring(id) return ("%x.%x.%04x"):format(id.task, id.lthread, id.version) end
local ids = {}
function M.id(task, lthread, version)
  local k = task .. "." .. lthread .. "." .. version
  ids[k] = ids[k] or setmetatable({ task = task, lthread = lthread, version = version }, idmt)
  return ids[k]
end
local id = M.id

function M.l4()
  local l4 = { deleted = {} }
  l4.self = function() return id(2, 0, 1) end
  l4.frobnicate = function() end          -- a function help does not describe
  l4.kip = { root = id(2, 0, 1) }
  l4.sys = {
    threads = function()
      return {
        { id = id(16, 2, 1), task = 16, lthread = 2, state = "send", prio = 200, cpu_ms = 0 },
        { id = id(2, 0, 1), task = 2, lthread = 0, state = "ready", prio = 100, cpu_ms = 120 },
        { id = id(17, 0, 1), task = 17, lthread = 0, state = "ready", prio = 100, cpu_ms = 0 },
        { id = id(16, 0, 1), task = 16, lthread = 0, state = "receive", prio = 200, cpu_ms = 3 },
      }
    end,
    irqs = function()
      return { { line = 4, owner = id(16, 2, 1), count = 17 }, { line = 8, owner = id(2, 0, 1), count = 3 } }
    end,
    kmem = function() return 200 * 1024, 4096 * 1024 end,
    console = function() return l4.console_id end,     -- nil: none
  }
  local tasks = {
    { id = id(16, 0, 1), name = "uart", state = "running", pages = 21, heap = 65536, memcap = 32 << 20 },
    { id = id(17, 0, 1), name = "pager", state = "running", pages = 30, heap = 131072, memcap = 8 << 20 },
    { id = id(18, 0, 1), state = "failed", pages = 0, heap = 0, memcap = 4 << 20 },
  }
  l4.task = {
    spawn = function() return nil, "not in the fake" end,
    list = function() return tasks end,
    stats = function()
      return { pool = 4096, free = 3000, reserved = 512, tasks = 2, text_pages = 120, data_pages = 5 }
    end,
    delete = function(tid)
      if tid.task == 18 then return nil, "not permitted", 22 end
      for _, t in ipairs(tasks) do
        if t.id == tid then
          l4.deleted[#l4.deleted + 1] = tostring(tid)
          return t.pages
        end
      end
      return nil, "no such task", 21
    end,
  }
  return l4
end

local pci = {
  list = function()
    return {
      { bus = 0, dev = 0, fn = 0, vendor = 0x8086, device = 0x1237, class = 6, subclass = 0, progif = 0, bars = {} },
      { bus = 0, dev = 1, fn = 0, vendor = 0x8086, device = 0x7000, class = 6, subclass = 1, progif = 0, bars = {} },
      { bus = 0, dev = 2, fn = 0, vendor = 0x1234, device = 0x1111, class = 3, subclass = 0, progif = 0,
        bars = { { addr = 0xfd000000, size = 16 << 20 } } },
    }
  end,
}

-- The service framework (scripts/service.lua) as the shell uses it.
local service = {
  reloaded = {},
  list = function()
    return {
      { name = "echo", id = M.id(0x10, 0, 1), version = "2", requests = 41, errors = 1, restarts = 1,
        state = "running", reason = "was killed (its task was deleted)" },
      { name = "names", id = M.id(0x11, 0, 1), version = "1", requests = 7, errors = 0, state = "running" },
      { name = "crash", state = "given up", restarts = 5, reason = "failed: broken" },
    }
  end,
  reload_file = function(name, path)
    if name == "echo" then return "3", 3 end
    return nil, "services/" .. name .. ".lua: no such file", 103
  end,
}

-- The environment chunks run in: the fake l4, require("pci") faked, a
-- print into a list, and interrupt_after(n): what the console's Ctrl-C
-- hook does, n instructions from now.
function M.env()
  local env = { l4 = M.l4(), printed = {} }
  env.require = function(name)
    if name == "pci" then return pci end
    if name == "service" then return service end
    return require(name)
  end
  env.print = function(...) env.printed[#env.printed + 1] = table.concat({ ... }, "\t") end
  env.interrupt_after = function(n)
    debug.sethook(function() debug.sethook(); error("interrupted") end, "", n)
  end
  return setmetatable(env, { __index = _G })
end

return M
