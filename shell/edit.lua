-- The REPL's line editor: turns the raw bytes a terminal sends into edited
-- lines, with history and tab completion. It never blocks: push() gives it
-- bytes, next() hands back what they made ("line", "interrupt") until they
-- are used up, show() draws the edit line once through con:edit. So a read
-- of many keys (a paste) costs one redraw, not one per key.
--
-- The cursor `pos` is a byte offset into `buf` (0: before the first byte);
-- moves and deletes step over whole UTF-8 characters.
-- Captured now: a person at the prompt may change the globals.
local getmetatable, ipairs, next, pairs, pcall, rawget, setmetatable, type =
  getmetatable, ipairs, next, pairs, pcall, rawget, setmetatable, type
local math = { type = math.type, huge = math.huge, min = math.min, max = math.max,
               tointeger = math.tointeger }
local table = { concat = table.concat, sort = table.sort, pack = table.pack,
                unpack = table.unpack, move = table.move, remove = table.remove }
local edit = {}

local Editor = {}
Editor.__index = Editor

edit.history_max = 200

-- edit.new(con, [opts]) -> an editor drawing on con; opts.complete(before)
-- -> start, {candidates} (see edit.completer), opts.history_max,
-- opts.history: the lines to start with (oldest first), opts.remember(line):
-- called with each line added to the history (to keep it elsewhere too).
function edit.new(con, opts)
  opts = opts or {}
  local hist = {}
  for i, l in ipairs(type(opts.history) == "table" and opts.history or {}) do hist[i] = l end
  return setmetatable({
    con = con, prompt = "> ", buf = "", pos = 0,
    pending = "", i = 1,          -- input not yet handled, from index i
    after_cr = false,             -- a LF right after a CR is the same Enter
    hist = hist, hidx = nil, saved = nil, history_max = opts.history_max or edit.history_max,
    remember = opts.remember,
    complete = opts.complete, last_tab = false, killed = "",
    dirty = true,
  }, Editor)
end

local function is_cont(b) return b and b >= 0x80 and b < 0xc0 end

-- The byte offset one character left / right of p.
function Editor:left_of(p)
  if p <= 0 then return 0 end
  p = p - 1
  while p > 0 and is_cont(self.buf:byte(p + 1)) do p = p - 1 end
  return p
end

function Editor:right_of(p)
  local n = #self.buf
  if p >= n then return n end
  p = p + 1
  while p < n and is_cont(self.buf:byte(p + 1)) do p = p + 1 end
  return p
end

function Editor:set(buf, pos)
  self.buf, self.pos, self.dirty = buf, pos, true
end

function Editor:insert(s)
  local b, p = self.buf, self.pos
  self:set(b:sub(1, p) .. s .. b:sub(p + 1), p + #s)
end

-- Deletes bytes from..to-1 (offsets), keeping what was cut for Ctrl-Y.
function Editor:cut(from, to, keep)
  if to <= from then return end
  local b = self.buf
  if keep then self.killed = b:sub(from + 1, to) end
  self:set(b:sub(1, from) .. b:sub(to + 1), from)
end

-- Offsets of the word boundaries left and right of the cursor (words are
-- runs of letters, digits and _ for moves; of non-spaces for Ctrl-W).
function Editor:word_left(class)
  local b, p = self.buf, self.pos
  while p > 0 and not b:sub(p, p):find(class) do p = p - 1 end
  while p > 0 and b:sub(p, p):find(class) do p = p - 1 end
  return p
end

function Editor:word_right()
  local b, p, n = self.buf, self.pos, #self.buf
  while p < n and not b:sub(p + 1, p + 1):find("[%w_\128-\255]") do p = p + 1 end
  while p < n and b:sub(p + 1, p + 1):find("[%w_\128-\255]") do p = p + 1 end
  return p
end

function Editor:history(dir)
  local h = self.hist
  if dir < 0 then
    if #h == 0 or self.hidx == 1 then return end
    if not self.hidx then self.saved, self.hidx = self.buf, #h + 1 end
    self.hidx = self.hidx - 1
  else
    if not self.hidx then return end
    self.hidx = self.hidx + 1
  end
  local line = h[self.hidx]
  if not line then line, self.hidx, self.saved = self.saved, nil, nil end
  self:set(line, #line)
end

-- Remembers a line: not blank ones, not the same as the one before.
function Editor:add_history(line)
  local h = self.hist
  if not line:find("%S") or line == h[#h] then return end
  h[#h + 1] = line
  while #h > self.history_max do table.remove(h, 1) end
  if self.remember then pcall(self.remember, line) end
end

local function common_prefix(list)
  local p = list[1]
  for i = 2, #list do
    local s = list[i]
    local n = 0
    while n < #p and p:byte(n + 1) == s:byte(n + 1) do n = n + 1 end
    p = p:sub(1, n)
  end
  return p
end

-- Lists the candidates (their last name only) in columns below the line.
function Editor:list(cands)
  local names, w = {}, 1
  for i, c in ipairs(cands) do
    names[i] = c:match("[^.:]*$")
    if #names[i] > w then w = #names[i] end
  end
  w = w + 2
  local cols = math.max(1, 78 // w)
  local out = {}
  for i, name in ipairs(names) do
    if i == #names then out[i] = name
    elseif i % cols == 0 then out[i] = name .. "\r\n"
    else out[i] = name .. (" "):rep(w - #name) end
  end
  self:finish("")
  self.con:write(table.concat(out) .. "\r\n")
end

function Editor:tab()
  if not self.complete then return end
  local before = self.buf:sub(1, self.pos)
  local ok, start, cands = pcall(self.complete, before)
  if not ok or not start or not cands or #cands == 0 then self.last_tab = false return end
  local word = before:sub(start)
  local new = #cands == 1 and cands[1] or common_prefix(cands)
  if #new > #word then
    self:set(before:sub(1, start - 1) .. new .. self.buf:sub(self.pos + 1), start - 1 + #new)
  elseif #cands > 1 and self.last_tab then
    self:list(cands)
    self.dirty = true
    return
  end
  self.last_tab = #cands > 1
end

-- Shows the line as it stands (plus a mark) and leaves it on screen.
function Editor:finish(mark)
  local text = self.prompt .. self.buf .. mark
  self.con:edit(text, #text)
  self.con:done()
  self.dirty = true
end

-- Ends the line: returns it, clears the editor for the next one.
function Editor:enter()
  local line = self.buf
  self.pos = #line
  self:finish("")
  self:add_history(line)
  self.buf, self.pos, self.hidx, self.saved = "", 0, nil, nil
  return line
end

local CTRL = {}
CTRL[1] = function(e) e:set(e.buf, 0) end                            -- ^A
CTRL[2] = function(e) e:set(e.buf, e:left_of(e.pos)) end             -- ^B
CTRL[4] = function(e) e:cut(e.pos, e:right_of(e.pos)) end            -- ^D
CTRL[5] = function(e) e:set(e.buf, #e.buf) end                       -- ^E
CTRL[6] = function(e) e:set(e.buf, e:right_of(e.pos)) end            -- ^F
CTRL[8] = function(e) e:cut(e:left_of(e.pos), e.pos) end             -- ^H, backspace
CTRL[127] = CTRL[8]
CTRL[9] = function(e) e:tab() return "tab" end                       -- Tab
CTRL[11] = function(e) e:cut(e.pos, #e.buf, true) end                -- ^K
CTRL[12] = function(e) e.con:write("\27[H\27[2J") e.dirty = true end -- ^L
CTRL[14] = function(e) e:history(1) end                              -- ^N
CTRL[16] = function(e) e:history(-1) end                             -- ^P
CTRL[21] = function(e) e:cut(0, e.pos, true) end                     -- ^U
CTRL[23] = function(e) e:cut(e:word_left("%S"), e.pos, true) end     -- ^W
CTRL[25] = function(e) e:insert(e.killed) end                        -- ^Y

local function home(e) e:set(e.buf, 0) end
local function eol(e) e:set(e.buf, #e.buf) end
local ESC = {
  ["\27[A"] = CTRL[16], ["\27OA"] = CTRL[16],
  ["\27[B"] = CTRL[14], ["\27OB"] = CTRL[14],
  ["\27[C"] = CTRL[6], ["\27OC"] = CTRL[6],
  ["\27[D"] = CTRL[2], ["\27OD"] = CTRL[2],
  ["\27[H"] = home, ["\27OH"] = home, ["\27[1~"] = home, ["\27[7~"] = home,
  ["\27[F"] = eol, ["\27OF"] = eol, ["\27[4~"] = eol, ["\27[8~"] = eol,
  ["\27[3~"] = CTRL[4],
  ["\27[1;5C"] = function(e) e:set(e.buf, e:word_right()) end,
  ["\27[1;5D"] = function(e) e:set(e.buf, e:word_left("[%w_\128-\255]")) end,
}
ESC["\27f"], ESC["\27b"] = ESC["\27[1;5C"], ESC["\27[1;5D"]
ESC["\27\127"] = CTRL[23]
-- bracketed paste (if the terminal was asked for it): Tabs are text
ESC["\27[200~"] = function(e) e.pasting = true end
ESC["\27[201~"] = function(e) e.pasting = false end

-- The escape sequence at s[i] (i at the ESC): its text and the index after
-- it; nil if s ends inside it (wait for more bytes).
local function escape(s, i)
  local c = s:byte(i + 1)
  if not c then return nil end
  if c ~= 0x5b and c ~= 0x4f then return s:sub(i, i + 1), i + 2 end -- ESC x: Alt-x
  local k = i + 2
  while true do
    local b = s:byte(k)
    if not b then
      if k - i > 16 then return s:sub(i, k - 1), k end -- garbage: drop it
      return nil
    end
    -- CSI: parameters and intermediates 0x20-0x3f, then a final 0x40-0x7e;
    -- SS3 (ESC O): one final byte.
    if c == 0x4f or b >= 0x40 or b < 0x20 then return s:sub(i, k), k + 1 end
    k = k + 1
  end
end

-- Adds input bytes, to be handled by next().
function Editor:push(bytes)
  if self.i > #self.pending then
    self.pending, self.i = bytes, 1
  else
    self.pending, self.i = self.pending:sub(self.i) .. bytes, 1
  end
end

-- Handles pushed bytes up to the next event: "line", text (Enter) or
-- "interrupt" (Ctrl-C: the line is dropped); nil when they are used up.
function Editor:next()
  local s, i, n = self.pending, self.i, #self.pending
  while i <= n do
    local c = s:byte(i)
    local was_tab = false
    if c >= 32 and c ~= 127 then
      local j = s:find("[%c\127]", i) or n + 1
      self:insert(s:sub(i, j - 1))
      i = j
    elseif c == 13 or c == 10 then
      local lf_of_crlf = c == 10 and self.after_cr
      self.after_cr = c == 13
      i = i + 1
      if not lf_of_crlf then
        self.i, self.last_tab = i, false
        return "line", self:enter()
      end
    elseif c == 3 then
      self.i, self.after_cr, self.last_tab = i + 1, false, false
      self.dropped = self.buf           -- what Ctrl-C dropped ("" at an empty line)
      self:finish("^C")
      self.buf, self.pos, self.hidx, self.saved = "", 0, nil, nil
      return "interrupt"
    elseif c == 27 then
      local seq, j = escape(s, i)
      if not seq then break end
      local f = ESC[seq]
      if f then f(self) end
      i = j
    elseif c == 9 and (i < n or self.pasting) then
      -- a Tab with more keys behind it in the same read is pasted text
      self:insert("\t")
      i = i + 1
    else
      local f = CTRL[c]
      if f then was_tab = f(self) == "tab" end
      i = i + 1
    end
    if c ~= 13 then self.after_cr = false end
    if not was_tab then self.last_tab = false end
  end
  self.i = i
  return nil
end

-- Draws the edit line if it changed since it was last drawn.
function Editor:show()
  if self.dirty then
    self.con:edit(self.prompt .. self.buf, #self.prompt + self.pos)
    self.dirty = false
  end
end

function Editor:set_prompt(p)
  if p ~= self.prompt then self.prompt, self.dirty = p, true end
end

-- Drops the line being edited and any input not yet handled.
function Editor:reset()
  self.buf, self.pos, self.pending, self.i, self.hidx, self.saved = "", 0, "", 1, nil, nil
  self.dirty = true
end

------------------------------------------------------------------------
-- Completion of Lua names: globals of env, fields of tables (through
-- __index tables too), methods after ':' (strings: the string library).

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  keywords[w] = true
end

local function index(t, k)
  local ok, v = pcall(function() return t[k] end)
  if ok then return v end
end

-- Calls f(key, value) for the fields of v and of its __index tables.
local function fields(v, f)
  local seen = {}
  for _ = 1, 8 do
    if v == nil or seen[v] then return end
    seen[v] = true
    if type(v) == "table" then
      for k, x in next, v do f(k, x) end
    end
    local mt = getmetatable(v)
    v = type(mt) == "table" and rawget(mt, "__index") or nil
    if type(v) ~= "table" then return end
  end
end

-- edit.completer(env) -> a function(before) -> start, candidates: the word
-- before the cursor (before:sub(start)) and its sorted completions.
function edit.completer(env)
  return function(before)
    local word = before:match("[%w_.:]*$")
    if word:find("^%d") then return end
    local chain, sep, last = word:match("^(.-)([.:]?)([%w_]*)$")
    if not chain or chain:find(":") or (sep ~= "" and chain == "") then return end
    local v = env
    if chain ~= "" then
      for name in (chain .. "."):gmatch("(.-)%.") do
        if not name:find("^[%a_][%w_]*$") then return end
        v = index(v, name)
        if v == nil then return end
      end
    end
    local found, list = {}, {}
    local function add(k, x)
      if type(k) == "string" and k:find("^[%a_][%w_]*$") and k:sub(1, #last) == last
         and not found[k] and (sep ~= ":" or type(x) == "function") then
        found[k] = true
        list[#list + 1] = chain .. sep .. k
      end
    end
    fields(v, add)
    if chain == "" then
      for k in pairs(keywords) do add(k) end
    end
    table.sort(list)
    return #before - #word + 1, list
  end
end

return edit
