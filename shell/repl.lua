-- The REPL: reads chunks from the line editor, runs them, prints results.
-- As the standalone lua does: "> " and ">> " for an incomplete chunk (a
-- load error ending in "<eof>"), a line tried as an expression first
-- ("return " .. line), errors with a traceback; plus "=expr", and shell
-- commands (shell/commands.lua) beside Lua. Nothing typed ends the loop.
--
-- repl.run(con, env) reads from con for ever; repl.new(con, env) gives an
-- object whose :feed(bytes) handles input without blocking (tests).
-- Captured now: a person at the prompt may change the globals.
local getmetatable, load, pcall, rawget, require, setmetatable, tostring, type, xpcall =
  getmetatable, load, pcall, rawget, require, setmetatable, tostring, type, xpcall
local math = { type = math.type, huge = math.huge, min = math.min, max = math.max,
               tointeger = math.tointeger }
local table = { concat = table.concat, sort = table.sort, pack = table.pack,
                unpack = table.unpack, move = table.move, remove = table.remove }
local debug = { getinfo = debug.getinfo, traceback = debug.traceback }

local here = (...) or ""
local prefix = here:match("^(.-)[^.]*$")   -- "shell." when required as shell.repl
local edit = require(prefix .. "edit")
local pretty = require(prefix .. "pretty")
local commands = require(prefix .. "commands")

local repl = {}

-- Frames of this file end a traceback: what is below them is the REPL's.
local SELF = debug.getinfo(1, "S").short_src

local Repl = {}
Repl.__index = Repl

-- An error value as text, as lua.c says it; never raises.
local function message(e)
  if type(e) == "string" then return e end
  if math.type(e) then return tostring(e) end
  local ok, s = pcall(function()
    local mt = getmetatable(e)
    if mt ~= nil and (type(mt) ~= "table" or rawget(mt, "__tostring")) then
      local t = tostring(e)
      if type(t) == "string" then return t end
    end
  end)
  if ok and s then return s end
  return ("(error object is a %s value)"):format(type(e))
end

-- Drops the traceback's lines from the chunk's caller (xpcall) down.
local function trim(tb)
  local head, frames = tb:match("^(.-\nstack traceback:)(.*)$")
  if not head then return tb end
  local keep = { head }
  for line in frames:gmatch("[^\n]+") do
    if line:find(SELF, 1, true) then break end
    keep[#keep + 1] = line
  end
  if #keep > 1 and keep[#keep]:find("^%s*%[C%]: in %a+ 'xpcall'") then
    keep[#keep] = nil
  end
  return table.concat(keep, "\n")
end

-- "interrupted", and how long after the key was typed when the interrupt
-- says (scripts/watch.lua sends "interrupted@<l4.clock() at the key>").
local function interrupted(msg, env)
  local at = tonumber(msg:match("interrupted@(%d+)"))
  local ok, now = pcall(function() return env.l4.clock() end)
  if at and at > 0 and ok and math.type(now) then
    return ("interrupted (%d ms after Ctrl-C)"):format((now - at) // 1000)
  end
  return "interrupted"
end

-- The message handler of a chunk: runs where the error happened. It
-- gives the error value back unchanged and keeps the text to print
-- beside it: Lua also calls the running handler for errors that load
-- catches (a reader function that raises, a parser out of C stack), and
-- there load must return the value itself, as it does outside a REPL.
local ENV = _G
local last = nil   -- {value, text} of the handler's latest call
local function handler(e)
  local msg = message(e)
  if msg:find("interrupted", 1, true) then
    last = { value = e, text = interrupted(msg, ENV) }
  else
    last = { value = e, text = trim(debug.traceback(msg, 2)) }
  end
  return e
end

-- repl.new(con, [env], [opts]) -> a REPL drawing its prompt on con now.
-- env (default _G) is where chunks run and where the commands are put as
-- functions; opts.commands = false leaves them out; opts.on_interrupt()
-- is called when Ctrl-C is typed at an empty prompt. A con with
-- :history() and :remember(line) (a console server keeps the history,
-- console.lua) gives the editor its history and keeps each new line:
-- a REPL started again on the same console has the lines of the last.
function repl.new(con, env, opts)
  env, opts = env or _G, opts or {}
  local self = setmetatable({ con = con, env = env, chunk = nil,
                              on_interrupt = opts.on_interrupt }, Repl)
  self.out = function(s) con:write((s:gsub("\r?\n", "\r\n"))) end
  local history, remember
  if type(con.history) == "function" and type(con.remember) == "function" then
    local ok, h = pcall(con.history, con)
    history = ok and type(h) == "table" and h or nil
    remember = function(line) con:remember(line) end
  end
  self.ed = edit.new(con, { complete = edit.completer(env), history_max = opts.history_max,
                            history = history, remember = remember })
  if opts.commands ~= false then
    self.cmds = commands.new(env, self.out)
    self.cmds:install(env)
  end
  self:refill()
  self.ed:show()
  return self
end

-- Memory: a chunk may fill this state up to its cap and keep it full
-- (a global table that grows until "not enough memory"). Then even the
-- line that frees it (`t = nil`) could not be read and compiled. So the
-- REPL holds a reserve, lets go of it when memory runs out, and takes it
-- again once there is room.
local RESERVE = 256 << 10
-- string.rep copies its string once per repetition: 256 copies of 1 KiB,
-- not 262,144 of one byte (some 2.9 million instructions a session start)
local UNIT = ("r"):rep(1 << 10)

function Repl:refill()
  if not self.reserve then
    local ok, r = pcall(string.rep, UNIT, RESERVE >> 10)
    if ok then self.reserve = r end
  end
end

-- Prints an error: a handler's result, or a bare value (a memory error
-- does not reach the handler).
function Repl:report(e)
  local seen = last
  last = nil
  if seen and rawequal(seen.value, e) then
    self.out(seen.text .. "\n")
  else
    local msg = message(e)
    if msg == "not enough memory" and self.reserve then
      self.reserve = nil
      collectgarbage()
      msg = msg .. " (the REPL's memory is full: set what you no longer need to nil)"
    end
    self.out((msg:find("interrupted", 1, true) and interrupted(msg, self.env) or msg) .. "\n")
  end
end

-- Runs f and prints what it returns, or its error.
function Repl:call(f, ...)
  last = nil
  local r = table.pack(xpcall(f, handler, ...))
  if not r[1] then return self:report(r[2]) end
  if r.n > 1 then
    local ok, s = pcall(pretty.results, r.n - 1, table.unpack(r, 2, r.n))
    self.out((ok and s or "(cannot print the results: " .. message(s) .. ")") .. "\n")
  end
end

-- Compiles src: runs it, keeps it for more lines, or prints the error.
function Repl:try(src)
  local f, err = load(src, "=stdin", "t", self.env)
  if f then
    self.chunk = nil
    return self:call(f)
  end
  if err:sub(-5) == "<eof>" then
    self.chunk = src
  else
    self.chunk = nil
    self.out(err .. "\n")
  end
end

-- One line from the editor.
function Repl:line(line)
  if self.chunk then return self:try(self.chunk .. "\n" .. line) end
  local mode = self.cmds and self.cmds.mode
  if mode then                -- a sub-mode (`debug`) takes the line
    if mode.done then self.cmds.mode = nil
    else
      mode:line(line)
      if mode.done then self.cmds.mode = nil end
      return
    end
  end
  if self.cmds then
    local name, args = self.cmds:parse(line)
    if name then return self:call(self.cmds.fn[name], table.unpack(args)) end
  end
  local expr = line:match("^%s*=(.*)$")
  if expr then line = "return " .. expr end
  local f = load("return " .. line, "=stdin", "t", self.env)
  if f then return self:call(f) end
  return self:try(line)
end

-- Forgets a half-entered chunk and the input after an error of our own
-- (or an interrupt that hit the REPL rather than a chunk).
function Repl:recover(e)
  self.chunk = nil
  pcall(function()
    self.ed:reset()
    local msg = message(e)
    self.out((msg:find("interrupted", 1, true) and interrupted(msg, self.env) or "repl: " .. msg) .. "\n")
    self.ed:set_prompt("> ")
    self.ed:show()
  end)
end

-- Handles input bytes: every key in them, each line as it completes, and
-- then one redraw of the edit line.
function Repl:feed(bytes)
  local ed = self.ed
  ed:push(bytes)
  while true do
    local ev, line = ed:next()
    if not ev then break end
    if ev == "line" then
      local ok, e = pcall(self.line, self, line)
      if not ok then self.chunk = nil; self:report(e) end
    else -- "interrupt": the line is gone, and the chunk it continued
      -- at an empty prompt (nothing typed, no chunk begun): opts.on_interrupt
      if ed.dropped == "" and not self.chunk and self.on_interrupt then
        pcall(self.on_interrupt)
      end
      self.chunk = nil
    end
    local mode = self.cmds and self.cmds.mode
    if mode and mode.done then self.cmds.mode, mode = nil, nil end
    ed:set_prompt(self.chunk and ">> " or mode and mode.prompt or "> ")
  end
  self:refill()
  ed:show()
end

-- repl.run(con, [env], [opts]): the REPL on con, for ever.
function repl.run(con, env, opts)
  local r = repl.new(con, env, opts)
  local sleep = env and type(env.l4) == "table" and env.l4.sleep
  while true do
    local ok, e = pcall(function() r:feed(con:read()) end)
    if not ok then
      r:recover(e)
      if sleep then pcall(sleep, 100) end -- a console that fails keeps failing
    end
  end
end

return repl
