-- A terminal on the VGA text screen: 80x25 cells at physical 0xB8000 (two
-- bytes a cell: the character, then the attribute, background << 4 |
-- foreground), the hardware cursor set through the CRT controller (index
-- port 0x3D4, data 0x3D5; registers 0x0E/0x0F hold the cursor's cell
-- number, 0x0A bit 5 hides it). write() takes what a line editor or
-- print sends a serial terminal: text, control bytes and the common ANSI
-- escape sequences (docs/drivers.md lists them). An escape sequence may
-- arrive split across writes: the parser keeps its state in the object.
local l4 = require "l4"

local M = {}

local COLS, ROWS = 80, 25
local ROW_BYTES = COLS * 2
local CRTC_INDEX, CRTC_DATA = 0x3d4, 0x3d5
local PHYS = 0xb8000

M.COLS, M.ROWS, M.PHYS = COLS, ROWS, PHYS
M.PORTS = {{CRTC_INDEX, 2}}

-- Parser states: text; after ESC; in ESC [ ...; after ESC O (one more
-- byte); in ESC <intermediates> <final> (ESC ( B: a character set).
local TEXT, ESC, CSI, SS3, ESCI = 0, 1, 2, 3, 4

-- ANSI colour n (red 1, green 2, ...) as a VGA one (blue 1, green 2, ...).
local ANSI_TO_VGA = {[0] = 0, 4, 2, 6, 1, 5, 3, 7}

local T = {}
T.__index = T

local function crtc(reg, v)
  l4.io.outb(CRTC_INDEX, reg)
  if v then l4.io.outb(CRTC_DATA, v) else return l4.io.inb(CRTC_DATA) end
end

-- vga.new([{attr = 0x07, clear = false, mem = m}]) -> terminal, or nil,
-- message, code. Takes ports 0x3D4-0x3D5 (unless held) and maps the text
-- screen, unless given its page as mem (an l4.mem: a task gets it from
-- the device manager, device.vga()). The cursor starts where the hardware
-- cursor is (below what was printed before: the BIOS, or the instance
-- before this one), or at the top left with clear = true.
function M.new(opts)
  opts = opts or {}
  if not l4.io.holds(CRTC_INDEX, 2) then
    local ok, msg, code = l4.io.request(CRTC_INDEX, 1)
    if not ok then return nil, "vga: ports 0x3d4-0x3d5: " .. msg, code end
  end
  local mem, msg, code = opts.mem, nil, nil
  if not mem then
    mem, msg, code = l4.mem.map_phys(PHYS, 12)
    if not mem then return nil, "vga: text screen at 0xb8000: " .. msg, code end
  end
  local self = setmetatable({mem = mem, row = 0, col = 0, attr = opts.attr or 0x07,
                             default_attr = opts.attr or 0x07, wrap = false,
                             state = TEXT, params = "", hw = -1}, T)
  if opts.clear then
    self:clear()
  else
    local pos = crtc(0x0e) << 8 | crtc(0x0f)
    if pos < COLS * ROWS then self.row, self.col = pos // COLS, pos % COLS end
    self:sync()
  end
  return self
end

-- The cells of n blanks in the current colours (erasing uses them, as
-- terminals do).
function T:blanks(n)
  return (" " .. string.char(self.attr)):rep(n)
end

-- Moves the hardware cursor to the cursor, if it moved.
function T:sync()
  local pos = self.row * COLS + self.col
  if pos ~= self.hw then
    crtc(0x0e, pos >> 8)
    crtc(0x0f, pos & 0xff)
    self.hw = pos
  end
end

local function scroll(self)
  local m = self.mem
  m:write(0, m:read(ROW_BYTES, ROW_BYTES * (ROWS - 1)))
  m:write(ROW_BYTES * (ROWS - 1), self:blanks(COLS))
end

local function linefeed(self)
  if self.row == ROWS - 1 then scroll(self) else self.row = self.row + 1 end
end

-- Writes printable bytes at the cursor, wrapping at the right margin. A
-- character in the last column leaves the cursor on it with a wrap
-- pending (as a VT100 does): the next character starts a new line.
local function put(self, s)
  local a = "%0" .. (string.char(self.attr):gsub("%%", "%%%%"))   -- a gsub replacement
  while #s > 0 do
    if self.wrap then
      self.wrap, self.col = false, 0
      linefeed(self)
    end
    local room = COLS - self.col
    local chunk = s:sub(1, room)
    self.mem:write((self.row * COLS + self.col) * 2, (chunk:gsub(".", a)))
    self.col = self.col + #chunk
    if self.col == COLS then self.col, self.wrap = COLS - 1, true end
    s = s:sub(room + 1)
  end
end

-- Erases cells [from, to) of the screen (cell numbers).
local function erase(self, from, to)
  if to > from then self.mem:write(from * 2, self:blanks(to - from)) end
end

local function control(self, c)
  if c == 13 then                       -- \r
    self.col, self.wrap = 0, false
  elseif c == 10 then                   -- \n: a new line, starting at column 0
    self.col, self.wrap = 0, false
    linefeed(self)
  elseif c == 8 then                    -- \b: left, not erasing
    if self.wrap then self.wrap = false
    elseif self.col > 0 then self.col = self.col - 1 end
  elseif c == 9 then                    -- \t: to the next multiple of 8
    self.col, self.wrap = math.min(COLS - 1, (self.col // 8 + 1) * 8), false
  elseif c == 27 then
    self.state = ESC
  end                                   -- other control bytes: ignored
end

local function sgr(self, p)
  if #p == 0 then p = {0} end
  for _, n in ipairs(p) do
    local a = self.attr
    if n == 0 then a = self.default_attr
    elseif n == 1 then a = a | 0x08                                   -- bright
    elseif n == 22 then a = a & ~0x08
    elseif n == 7 then a = (a & 0x0f) << 4 | a >> 4 & 0x0f            -- reverse
    elseif n >= 30 and n <= 37 then a = a & 0xf8 | ANSI_TO_VGA[n - 30]
    elseif n == 39 then a = a & 0xf0 | self.default_attr & 0x0f
    elseif n >= 40 and n <= 47 then a = a & 0x8f | ANSI_TO_VGA[n - 40] << 4
    elseif n == 49 then a = a & 0x0f | self.default_attr & 0xf0
    end
    self.attr = a & 0xff
  end
end

-- Runs a control sequence ESC [ params final.
local function csi(self, params, final)
  if params:sub(1, 1) == "?" then                 -- private modes: the cursor's only
    if params == "?25" and (final == "h" or final == "l") then
      local start = crtc(0x0a)
      crtc(0x0a, final == "l" and start | 0x20 or start & ~0x20)
    end
    return
  end
  local p = {}
  for f in (params .. ";"):gmatch("([^;]*);") do p[#p + 1] = tonumber(f) end
  local n = p[1] or 0
  local move = math.max(n, 1)
  local row, col = self.row, self.col
  if final == "A" then row = math.max(row - move, 0)
  elseif final == "B" then row = math.min(row + move, ROWS - 1)
  elseif final == "C" then col = math.min(col + move, COLS - 1)
  elseif final == "D" then col = math.max(col - move, 0)
  elseif final == "G" then col = math.min(move, COLS) - 1
  elseif final == "H" or final == "f" then
    row = math.min(math.max(p[1] or 1, 1), ROWS) - 1
    col = math.min(math.max(p[2] or 1, 1), COLS) - 1
  elseif final == "K" then                        -- erase in the line
    local here, first = row * COLS + col, row * COLS
    if n == 0 then erase(self, here, first + COLS)
    elseif n == 1 then erase(self, first, here + 1)
    elseif n == 2 then erase(self, first, first + COLS) end
    return                                        -- the cursor stays, wrap too
  elseif final == "J" then                        -- erase in the screen
    local here = row * COLS + col
    if n == 0 then erase(self, here, COLS * ROWS)
    elseif n == 1 then erase(self, 0, here + 1)
    elseif n == 2 or n == 3 then erase(self, 0, COLS * ROWS) end
    return
  elseif final == "m" then
    sgr(self, p)
    return
  else
    return                                        -- unknown: ignored
  end
  self.row, self.col, self.wrap = row, col, false
end

-- term:write(bytes): puts them on the screen. "\n" starts a new line at
-- column 0 (print's output needs no "\r"). Bytes 0x80-0xFF: each UTF-8
-- lead byte shows as one "?", continuation bytes take no cell.
function T:write(s)
  local i, n = 1, #s
  while i <= n do
    local state = self.state
    if state == TEXT then
      local a, b = s:find("^[\32-\126]+", i)
      if a then
        put(self, s:sub(a, b))
        i = b + 1
      else
        local c = s:byte(i)
        i = i + 1
        if c >= 0xc0 then put(self, "?")
        elseif c < 0x80 then control(self, c) end
      end
    else
      local c = s:byte(i)
      i = i + 1
      if c == 27 then                             -- a new sequence starts
        self.state = ESC
      elseif c == 0x18 or c == 0x1a then          -- CAN, SUB: abandon it
        self.state = TEXT
      elseif state == ESC then
        if c == 0x5b then self.state, self.params = CSI, ""        -- [
        elseif c == 0x4f then self.state = SS3                      -- O: one more byte
        elseif c >= 0x20 and c <= 0x2f then self.state = ESCI
        else self.state = TEXT end
      elseif state == SS3 then
        self.state = TEXT
      elseif state == ESCI then
        if c >= 0x30 and c <= 0x7e then self.state = TEXT end
      elseif c >= 0x40 and c <= 0x7e then         -- CSI's final byte
        self.state = TEXT
        csi(self, self.params, string.char(c))
      elseif c >= 0x30 and c <= 0x3f then         -- a parameter byte
        if #self.params < 32 then self.params = self.params .. string.char(c) end
      end                                         -- intermediates, controls: ignored
    end
  end
  self:sync()
end

-- term:clear(): blank screen in the current colours, cursor at the top left.
function T:clear()
  erase(self, 0, COLS * ROWS)
  self.row, self.col, self.wrap = 0, 0, false
  self:sync()
end

-- term:text(row) -> the 80 characters of row 1-25, read from video memory.
function T:text(row)
  if math.type(row) ~= "integer" or row < 1 or row > ROWS then
    error(("bad argument #1 to 'text' (row %s out of range (1 to %d))"):format(row, ROWS), 2)
  end
  return (self.mem:read((row - 1) * ROW_BYTES, ROW_BYTES):gsub("(.).", "%1"))
end

-- term:attr_at(row, col) -> the attribute byte of a cell (1-based)
function T:attr_at(row, col)
  return self.mem:read8(((row - 1) * COLS + col - 1) * 2 + 1)
end

-- term:cursor() -> row, col (1-based)
function T:cursor()
  return self.row + 1, self.col + 1
end

-- term:close(): unmaps the screen (the ports stay the task's).
function T:close()
  self.mem:unmap()
end

return M
