-- The PS/2 keyboard behind the i8042 controller: data port 0x60, status
-- (read) and command (write) port 0x64, IRQ 1. The controller translates
-- the keyboard's codes to scancode set 1 (the BIOS leaves translation on,
-- and QEMU's i8042 delivers set 1): a key's press is its code 0x01-0x58,
-- its release the code | 0x80; the extra keys of the AT layout (arrows,
-- Home, Delete, right Ctrl/Alt, ...) come after a 0xE0 prefix, Pause as
-- E1 1D 45 E1 9D C5. decode() turns codes into the bytes a serial terminal
-- (xterm) sends for the keys, so the console is the same on the serial
-- line and on screen.
local l4 = require "l4"

local M = {}

local DATA, STATUS = 0x60, 0x64
local ST_OUT_FULL, ST_IN_FULL, ST_AUX = 0x01, 0x02, 0x20
local CMD_WRITE_KBD_OUT = 0xd2     -- the next data byte appears as if the keyboard sent it

M.IRQ = 1
M.PORTS = {{DATA, 1}, {STATUS, 1}}

-- Keys 0x01-0x39 without and with Shift (letters also by Caps Lock).
local BASE, SHIFTED = {}, {}
local function row(first, plain, shifted)
  for i = 1, #plain do
    BASE[first + i - 1] = plain:sub(i, i)
    SHIFTED[first + i - 1] = shifted:sub(i, i)
  end
end
row(0x02, "1234567890-=", "!@#$%^&*()_+")
row(0x10, "qwertyuiop[]", "QWERTYUIOP{}")
row(0x1e, "asdfghjkl;'`", 'ASDFGHJKL:"~')
row(0x2b, "\\zxcvbnm,./", "|ZXCVBNM<>?")
row(0x39, " ", " ")
for code, s in pairs{[0x01] = "\27", [0x0e] = "\127", [0x0f] = "\t", [0x1c] = "\r",
                     [0x37] = "*"} do
  BASE[code], SHIFTED[code] = s, s
end
SHIFTED[0x0f] = "\27[Z"            -- Shift+Tab: back tab

-- The editing keys, after E0, and on the keypad without Num Lock.
local EDIT = {
  [0x47] = "\27[H", [0x48] = "\27[A", [0x49] = "\27[5~", [0x4b] = "\27[D",
  [0x4d] = "\27[C", [0x4f] = "\27[F", [0x50] = "\27[B", [0x51] = "\27[6~",
  [0x52] = "\27[2~", [0x53] = "\27[3~",
}
local E0 = setmetatable({[0x1c] = "\r", [0x35] = "/"}, {__index = EDIT})
-- The keypad with Num Lock (and its keys that do not depend on it).
local KEYPAD = {
  [0x47] = "7", [0x48] = "8", [0x49] = "9", [0x4a] = "-", [0x4b] = "4", [0x4c] = "5",
  [0x4d] = "6", [0x4e] = "+", [0x4f] = "1", [0x50] = "2", [0x51] = "3", [0x52] = "0",
  [0x53] = ".",
}
local FKEYS = {
  [0x3b] = "\27OP", [0x3c] = "\27OQ", [0x3d] = "\27OR", [0x3e] = "\27OS",
  [0x3f] = "\27[15~", [0x40] = "\27[17~", [0x41] = "\27[18~", [0x42] = "\27[19~",
  [0x43] = "\27[20~", [0x44] = "\27[21~", [0x57] = "\27[23~", [0x58] = "\27[24~",
}
-- Ctrl with a character that is not a letter: the control byte it makes.
local CTRL = {[" "] = "\0", ["@"] = "\0", ["2"] = "\0", ["["] = "\27", ["\\"] = "\28",
              ["]"] = "\29", ["^"] = "\30", ["6"] = "\30", ["_"] = "\31", ["-"] = "\31",
              ["/"] = "\31"}

-- Modifier keys: code (with E0: + 0x100) -> the state field it holds.
local MODIFIERS = {[0x2a] = "lshift", [0x36] = "rshift", [0x1d] = "lctrl",
                   [0x11d] = "rctrl", [0x38] = "lalt", [0x138] = "ralt"}

-- kbd.state() -> a fresh decoder state: no key held, Caps and Num Lock off.
function M.state()
  return {lshift = false, rshift = false, lctrl = false, rctrl = false, lalt = false,
          ralt = false, caps = false, numlock = false, e0 = false, skip = 0}
end

-- kbd.decode(state, scancode) -> the bytes the code makes ("" for most:
-- releases, modifiers, prefixes). Updates state in place and touches no
-- hardware, so scripted sequences test it.
function M.decode(st, sc)
  if st.skip > 0 then                      -- the rest of Pause's E1 sequence
    st.skip = st.skip - 1
    return ""
  end
  if sc == 0xe0 then st.e0 = true; return "" end
  if sc == 0xe1 then st.skip = 2; return "" end
  if sc == 0x00 or sc == 0xfa or sc == 0xfe or sc == 0xff then   -- errors, ACK, resend
    st.e0 = false
    return ""
  end
  local e0, release, code = st.e0, sc & 0x80 ~= 0, sc & 0x7f
  st.e0 = false
  if e0 and (code == 0x2a or code == 0x36) then return "" end    -- fake shifts around E0 keys
  local mod = MODIFIERS[e0 and code | 0x100 or code]
  if mod then st[mod] = not release; return "" end
  if release then return "" end
  if code == 0x3a and not e0 then st.caps = not st.caps; return "" end
  if code == 0x45 and not e0 then st.numlock = not st.numlock; return "" end
  local shift = st.lshift or st.rshift
  local s
  if e0 then
    s = E0[code]
  elseif code >= 0x47 and code <= 0x53 and code ~= 0x4a and code ~= 0x4e then
    s = (st.numlock ~= shift) and KEYPAD[code] or EDIT[code]
  elseif KEYPAD[code] then
    s = KEYPAD[code]
  elseif FKEYS[code] then
    s = FKEYS[code]
  else
    s = shift and SHIFTED[code] or BASE[code]
    if s and st.caps and s:match("^%a$") then
      s = shift and s:lower() or s:upper()
    end
  end
  if not s then return "" end
  if (st.lctrl or st.rctrl) and #s == 1 then
    if s:match("^%a$") then s = string.char(s:upper():byte() & 0x1f)
    else s = CTRL[s] or s end
  end
  if (st.lalt or st.ralt) and #s == 1 then s = "\27" .. s end     -- Meta sends Escape
  return s
end

-- kbd.decode_all(state, codes) -> the bytes a string of scancodes makes
function M.decode_all(st, codes)
  local out = {}
  for i = 1, #codes do out[#out + 1] = M.decode(st, codes:byte(i)) end
  return table.concat(out)
end

local K = {}
K.__index = K

local function claim(port)
  if l4.io.holds(port) then return true end
  return l4.io.request(port, 0)
end

-- kbd.new() -> keyboard, or nil, message, code. Takes ports 0x60 and
-- 0x64 (unless held) and drops bytes waiting in the controller. Attaching
-- to IRQ 1 is the caller's: it waits, then calls on_irq.
function M.new()
  for _, p in ipairs{DATA, STATUS} do
    local ok, msg, code = claim(p)
    if not ok then return nil, ("ps2kbd: port 0x%x: %s"):format(p, msg), code end
  end
  local self = setmetatable({state = M.state()}, K)
  for _ = 1, 32 do                         -- a full controller holds a few bytes at most
    if l4.io.inb(STATUS) & ST_OUT_FULL == 0 then break end
    l4.io.inb(DATA)
  end
  return self
end

function K:irq_line() return M.IRQ end

-- kbd:ports() -> {{first, count}, ...}: the I/O ports it uses
function K:ports() return {{DATA, 1}, {STATUS, 1}} end

-- kbd:on_irq() -> the bytes of the keys waiting in the controller ("" if
-- none: a shared or spurious interrupt). Mouse bytes are dropped.
function K:on_irq()
  local out = {}
  for _ = 1, 64 do
    local st = l4.io.inb(STATUS)
    if st & ST_OUT_FULL == 0 then break end
    local b = l4.io.inb(DATA)
    if st & ST_AUX == 0 then out[#out + 1] = M.decode(self.state, b) end
  end
  return table.concat(out)
end

local function wait_input_empty()
  for _ = 1, 100000 do
    if l4.io.inb(STATUS) & ST_IN_FULL == 0 then return true end
  end
  return false
end

-- kbd:inject(scancode) -> true: the controller delivers the code as if the
-- key had been typed (command 0xD2), raising IRQ 1. For tests and demos:
-- one code per interrupt (the controller holds one byte).
function K:inject(sc)
  if not wait_input_empty() then return nil, "ps2kbd: controller busy", 1 end
  l4.io.outb(STATUS, CMD_WRITE_KBD_OUT)
  if not wait_input_empty() then return nil, "ps2kbd: controller busy", 1 end
  l4.io.outb(DATA, sc)
  return true
end

return M
