-- The Lua drivers of drivers-lua/ (packed at the test archive's root) on
-- QEMU's default machine (i440fx, -net none): PCI enumeration, the RTC,
-- the VGA text terminal, the PS/2 keyboard's decoder and a real keyboard
-- interrupt, and the VGA console backend.
local u = require "bindings_util"
local eq, raises = u.eq, u.raises
local cases, case = u.cases()

local pci = require "pci"
local rtc = require "rtc"
local vga = require "vga"
local ps2kbd = require "ps2kbd"
local vgacon = require "vgacon"

local function find(list, pred)
  for _, x in ipairs(list) do if pred(x) then return x end end
end

local function at(list, bus, dev, fn)
  return find(list, function(f) return f.bus == bus and f.dev == dev and f.fn == fn end)
end

-- Waits for the RTC's next second: the guest clock (s) then.
local function rtc_edge()
  local sec = assert(rtc.now()).sec
  repeat until assert(rtc.now()).sec ~= sec
  return l4.clock() / 1e6
end

case("rtc_matches_os_time", function()
  eq(rtc.epoch{year = 1970, month = 1, day = 1, hour = 0, min = 0, sec = 0}, 0)
  eq(rtc.epoch{year = 2000, month = 1, day = 1, hour = 0, min = 0, sec = 0}, 946684800)
  eq(rtc.epoch{year = 2024, month = 2, day = 29, hour = 12, min = 34, sec = 56}, 1709210096)
  eq(rtc.epoch{year = 2100, month = 3, day = 1, hour = 0, min = 0, sec = 0}, 4107542400)
  -- The runtime took the RTC's ports at start (clock.c) outside the
  -- bindings' record; mapping them to ourselves through the echo thread
  -- puts them in it.
  if not l4.io.holds(0x70, 2) then
    local win = l4.fpage(l4.mem.reserve(12), 12)
    local _, _, fp = l4.call(l4.debug.echo(), {window = win}, 1, l4.iofpage(0x70, 1))
    eq(fp, l4.iofpage(0x70, 1))
  end
  local t = assert(rtc.now())
  assert(t.year >= 2024 and t.year < 2200, t.year)
  assert(t.month >= 1 and t.month <= 12 and t.day >= 1 and t.day <= 31, "date")
  assert(t.hour <= 23 and t.min <= 59 and t.sec <= 60, "time")
  eq(os.date("!%Y-%m-%d", rtc.epoch(t)), ("%04d-%02d-%02d"):format(t.year, t.month, t.day))
  local r, o, since_boot = assert(rtc.time()), os.time(), l4.clock() / 1e6
  if math.abs(r - o) <= 2 then return end
  -- os.time is the RTC's reading at boot plus the guest clock. Under
  -- icount the guest clock counts instructions, while QEMU's RTC keeps
  -- host time (unless -rtc clock=vm): the two drift apart as the boot runs
  -- (some 3 s by the time this runs). Measure how many guest seconds an
  -- RTC second takes and allow twice the drift that makes since boot.
  local a = rtc_edge()
  local per_rtc_second = rtc_edge() - a
  local slack = 2 * since_boot * math.abs(1 / per_rtc_second - 1)
  -- A busy host (QEMU starved of CPU, the more so while it started) can
  -- make the guest clock fall some seconds behind the RTC whatever the
  -- rate measured now: a lag is allowed, up to 30 s; running ahead is not.
  if r > o and r - o <= 30 then return end
  assert(math.abs(r - o) <= 2 + slack,
         ("rtc.time() %d, os.time() %d: %.3f s of guest time since boot, %.3f s of it "
          .. "per RTC second"):format(r, o, since_boot, per_rtc_second))
end)

case("pci_list", function()
  local list = pci.list()
  local host = assert(at(list, 0, 0, 0), "no 00:00.0")
  eq(host.vendor, 0x8086); eq(host.device, 0x1237)
  eq(host.class, 0x06); eq(host.subclass, 0x00); eq(host.header, 0)
  local isa = assert(at(list, 0, 1, 0), "no 00:01.0")
  eq(isa.vendor, 0x8086); eq(isa.device, 0x7000); eq(isa.multifunction, true)
  local ide = assert(at(list, 0, 1, 1), "no 00:01.1")
  eq(ide.device, 0x7010); eq(ide.class, 0x01); eq(ide.subclass, 0x01)
  local bm = assert(find(ide.bars, function(b) return b.index == 4 end), "IDE bus master BAR")
  eq(bm.kind, "io"); eq(bm.size, 16); eq(bm.prefetch, false)
  eq(assert(at(list, 0, 1, 3), "no 00:01.3").device, 0x7113)
  local v = assert(find(list, function(f) return f.vendor == 0x1234 and f.device == 0x1111 end),
                   "no VGA 1234:1111")
  eq(v.class, 0x03); eq(v.subclass, 0x00)
  local fb = assert(v.bars[1], "VGA has no BAR")
  eq(fb.index, 0); eq(fb.kind, "mem32"); eq(fb.prefetch, true); eq(fb.size, 16 << 20)
  assert(fb.base ~= 0 and fb.base % fb.size == 0, ("framebuffer at 0x%x"):format(fb.base))
  -- probing restored the BAR and the command register
  eq(pci.read32(v.bus, v.dev, v.fn, 0x10), fb.base | 8)
  eq(pci.read32(v.bus, v.dev, v.fn, 0x04) & 3, 3)
  eq(#list, 5, "i440fx, PIIX3 ISA/IDE, PIIX4 ACPI, VGA")
  for _, f in ipairs(list) do eq(f.bus, 0) end
  eq(pci.read32(0, 0, 0, 0), 0x12378086)
  eq(pci.read32(0, 31, 7, 0), 0xffffffff, "nothing at 00:1f.7")
  -- write32: the VGA's BAR0 (its low bits are read-only)
  eq(pci.write32(v.bus, v.dev, v.fn, 0x10, fb.base | 0xf), true)
  eq(pci.read32(v.bus, v.dev, v.fn, 0x10), fb.base | 8)
  raises({"pci: bad address", "offset 2"}, pci.read32, 0, 0, 0, 2)
  raises("pci: bad address 0:32.0", pci.read32, 0, 32, 0, 0)
  raises("pci: bad address 0:0.8", pci.write32, 0, 0, 8, 0, 0)
end)

case("pci_find", function()
  -- the IDE controller is 00:01.1 of QEMU's i440fx; this boot has no disk
  local b, d, f = pci.find(0x8086, {[0x7010] = true})
  assert(b == 0 and d == 1 and f == 1, ("IDE at %s:%s.%s"):format(b, d, f))
  assert(pci.find(0x1af4, {[0x1001] = true, [0x1042] = true}) == nil, "a virtio disk")
  assert(pci.find(0x8086, {}) == nil)
end)

case("pci_lspci", function()
  local text = pci.lspci()
  local function has(line)
    assert(text:find(line, 1, true), ("lspci lacks %q:\n%s"):format(line, text))
  end
  has("00:00.0 8086:1237 class 06.00.00 host bridge\n")
  has("00:01.0 8086:7000 class 06.01.00 ISA bridge\n")
  has("00:01.1 8086:7010 class 01.01.80 IDE controller\n")
  has("00:01.3 8086:7113 class 06.80.00 bridge\n")
  has("00:02.0 1234:1111 class 03.00.00 VGA controller\n")
  assert(text:find("\n    BAR0 mem32 0x%x+ %(16 MiB, prefetchable%)\n"), text)
  assert(text:find("\n    BAR4 io    0x%x+ %(16 bytes%)\n"), text)
  eq(select(2, text:gsub("\n%x%x:", "")) + 1, 5, "lines of functions")
  eq(pci.class_name(0x0c, 0x03), "USB controller")
  eq(pci.class_name(0x08, 0x99), "system peripheral")
  eq(pci.class_name(0x42, 0x00), "class 42")
end)

-- The hardware cursor's cell, read from the CRT controller.
local function hw_cursor()
  l4.io.outb(0x3d4, 0x0e)
  local hi = l4.io.inb(0x3d5)
  l4.io.outb(0x3d4, 0x0f)
  return hi << 8 | l4.io.inb(0x3d5)
end

local function row(t, r) return (t:text(r):gsub(" +$", "")) end

case("vga_text_and_cursor", function()
  local t = assert(vga.new{clear = true})
  eq(row(t, 1), ""); eq(#t:text(1), 80)
  t:write("hello\r\nworld")
  eq(row(t, 1), "hello"); eq(row(t, 2), "world")
  local r, c = t:cursor(); eq(r, 2); eq(c, 6)
  eq(hw_cursor(), 80 + 5)
  t:write("\n\tx\b\by")                     -- tab to column 9; back over it
  eq(row(t, 3), "       yx")
  eq(t:attr_at(3, 9), 0x07)
  -- ESC[K and cursor moves
  t:write("\rabcdef\27[3D\27[K")
  eq(row(t, 3), "abc"); r, c = t:cursor(); eq(c, 4)
  t:write("\27[2CZ\27[D\27[DY")             -- right 2, Z, left 2, Y
  eq(row(t, 3), "abc YZ")
  t:write("\27[A\27[1Gup\27[2B\27[Gdn")
  eq(row(t, 2), "uprld"); eq(row(t, 4), "dn")
  t:write("\27[C\27[C\27[0K!")              -- n absent or 0: 1
  eq(row(t, 4), "dn  !")
  -- split across writes, parameters too
  t:write("\27"); t:write("["); t:write("1"); t:write("0"); t:write("D")
  r, c = t:cursor(); eq(c, 1, "left 10 stops at column 1")
  t:write("\27[3;7H*")
  eq(row(t, 3), "abc YZ*")
  eq(hw_cursor(), 2 * 80 + 7)
  -- unknown sequences and stray controls are ignored
  t:write("\27[5X\27[?1h\27(B\27Ox\7\0\1.")
  eq(row(t, 3), "abc YZ*.")
  -- colours: SGR
  t:write("\27[31;44mR\27[0mN")
  eq(t:attr_at(3, 9), 0x14); eq(t:attr_at(3, 10), 0x07)
  -- erase the screen, home
  t:write("\27[2J\27[H")
  for i = 1, 25 do eq(row(t, i), "") end
  r, c = t:cursor(); eq(r, 1); eq(c, 1)
  eq(hw_cursor(), 0)
  raises("row 26 out of range", t.text, t, 26)
end)

case("vga_wrap_and_scroll", function()
  local t = assert(vga.new{clear = true})
  t:write(("x"):rep(80))                     -- fills row 1; the wrap waits
  local r, c = t:cursor(); eq(r, 1); eq(c, 80)
  t:write("\27[K")                           -- erases the last cell only
  eq(row(t, 1), ("x"):rep(79))
  t:write("yz")
  eq(row(t, 2), "yz")
  t:clear()
  for i = 1, 30 do t:write(("line %d\n"):format(i)) end
  eq(row(t, 1), "line 7"); eq(row(t, 24), "line 30"); eq(row(t, 25), "")
  r, c = t:cursor(); eq(r, 25); eq(c, 1)
  t:write("last")
  eq(row(t, 25), "last")
  t:write(("w"):rep(80) .. "v")              -- wraps at the bottom: scrolls
  eq(row(t, 24), "last" .. ("w"):rep(76)); eq(row(t, 25), "wwwwv")
  eq(row(t, 1), "line 8")
  t:write("\n\195\169t\226\130\172!")         -- UTF-8: a cell per character
  eq(row(t, 25), "?t?!"); eq(row(t, 1), "line 9")
  t:clear()
  t:close()
  raises("unmapped", t.text, t, 1)
end)

local function decode(codes, st)
  return ps2kbd.decode_all(st or ps2kbd.state(), codes)
end

case("kbd_decode", function()
  eq(decode("\x1e\x9e\x30\xb0\x2e\xae"), "abc")
  eq(decode("\x2a\x1e\x9e\xaa\x1e\x9e"), "Aa", "shift")
  eq(decode("\x36\x02\x03\x0c\x27\x28\x35\x2b\x29\xb6\x02"), '!@_:"?|~1', "right shift")
  eq(decode("\x1d\x2e\xae\x9d\x2e"), "\3c", "ctrl-c, then released")
  eq(decode("\xe0\x1d\x20\xe0\x9d\x20"), "\4d", "right ctrl")
  eq(decode("\x1d\x1a\x39\x9d"), "\27\0", "ctrl-[ and ctrl-space")
  eq(decode("\xe0\x48\xe0\xc8\xe0\x50\xe0\xd0\xe0\x4d\xe0\x4b"), "\27[A\27[B\27[C\27[D",
     "arrows")
  eq(decode("\xe0\x47\xe0\x4f\xe0\x53\xe0\x52\xe0\x49\xe0\x51"),
     "\27[H\27[F\27[3~\27[2~\27[5~\27[6~", "home, end, delete, insert, page up/down")
  eq(decode("\x1c\x0e\x0f\x01\x39"), "\r\127\t\27 ", "enter, backspace, tab, esc, space")
  eq(decode("\x2a\x0f\xaa"), "\27[Z", "shift-tab")
  eq(decode("\x3a\xba\x1e\x2a\x1e\xaa\x02\x3a\xba\x1e"), "Aa1a", "caps lock")
  eq(decode("\xe0\x2a\xe0\x48\xe0\xc8\xe0\xaa\x1e"), "\27[Aa", "E0's fake shift")
  eq(decode("\x48\x4b\x45\xc5\x48\x4b\x53\x4e\x37\xe0\x35\xe0\x1c"), "\27[A\27[D84.+*/\r",
     "keypad without and with num lock")
  eq(decode("\xe1\x1d\x45\xe1\x9d\xc5\x48"), "\27[A", "pause is ignored, num lock stays off")
  eq(decode("\x38\x1e\xb8\x1e"), "\27aa", "alt sends escape")
  eq(decode("\x3b\x3e\x3f\x58"), "\27OP\27OS\27[15~\27[24~", "function keys")
  eq(decode("\x9e\xfa\xe0\xaa\x00"), "", "stray releases, ACK, errors")
  local st = ps2kbd.state()
  eq(ps2kbd.decode(st, 0x2a), ""); eq(st.lshift, true)
  eq(ps2kbd.decode(st, 0xe0), ""); eq(st.e0, true)
  eq(ps2kbd.decode(st, 0x4d), "\27[C"); eq(st.e0, false)
  eq(ps2kbd.decode(st, 0x10), "Q")
  eq(ps2kbd.decode(st, 0xaa), ""); eq(st.lshift, false)
end)

-- Types codes through the i8042 (command 0xD2: "write keyboard output
-- buffer"), one interrupt each, and collects what on_irq decodes.
local function type_codes(dev, h, codes, reader)
  reader = reader or dev
  local out = {}
  for i = 1, #codes do
    assert(dev:inject(codes:byte(i)))
    local ok, msg = h:wait(100)
    assert(ok, ("no IRQ 1 for code %d: %s"):format(i, tostring(msg)))
    out[#out + 1] = reader:on_irq()
  end
  return table.concat(out)
end

case("kbd_irq", function()
  local kbd = assert(ps2kbd.new())
  eq(kbd:irq_line(), 1)
  eq(kbd:ports()[1][1], 0x60); eq(kbd:ports()[2][1], 0x64)
  local h <close> = assert(l4.irq.attach(kbd:irq_line()))
  eq(kbd:on_irq(), "", "nothing waiting")
  eq(type_codes(kbd, h, "\x2a\x23\xa3\xaa\x17\x97\x1d\x2e\xae\x9d\xe0\x48\xe0\xc8\x1c\x9c"),
     "Hi\3\27[A\r")
  assert(ps2kbd.new(), "a second object: the ports are held already")
end)

case("vgacon_backend", function()
  local b = assert(vgacon.new())
  eq(b:irq_line(), 1)
  local p = b:ports()
  eq(#p, 3); eq(p[3][1], 0x3d4); eq(p[3][2], 2)
  eq(vgacon.ports()[1][1], 0x60)
  eq(b:phys()[1][1], 0xb8000); eq(b:phys()[1][2], 4096)
  eq(row(b.screen, 1), "", "cleared")
  b:write("> 1 + 1\n2\n> ")
  eq(row(b.screen, 1), "> 1 + 1"); eq(row(b.screen, 3), ">")
  local h <close> = assert(l4.irq.attach(b:irq_line()))
  eq(type_codes(b.kbd, h, "\x1e\x9e\x0e\x8e\xe0\x4b\xe0\xcb", b), "a\127\27[D")
  b:write("\27[2J\27[H")
end)

return cases
