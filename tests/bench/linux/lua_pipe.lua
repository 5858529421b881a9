-- The Lua pair of make bench's Linux baseline (lua_pipe_rtt_linux), run by
-- /init (linux_init.c) as two processes of Debian's lua5.4: the same
-- exchange as ipc_rtt_lua_cross_task's two Lua tasks (tests/bench/lua/
-- bench_child.lua), two integers each way, here through two named pipes
-- of the initramfs (/ab, /ba) with Lua's own io library (Debian 12 has no
-- lua-posix for Lua 5.4):
--   lua5.4 lua_pipe.lua pong       answers every message with its two
--                                  integers, until the pipe closes
--   lua5.4 lua_pipe.lua ping <n>   n round trips
local mode, n = ...
local pack, unpack = string.pack, string.unpack
local FMT = "<i8i8"                     -- two integers: 16 bytes, one write
if mode == "pong" then
  local rd, wr = assert(io.open("/ab", "rb")), assert(io.open("/ba", "wb"))
  wr:setvbuf("no")
  while true do
    local m = rd:read(16)
    if not m then break end
    local a, b = unpack(FMT, m)
    wr:write(pack(FMT, a, b))
  end
elseif mode == "ping" then
  local wr, rd = assert(io.open("/ab", "wb")), assert(io.open("/ba", "rb"))
  wr:setvbuf("no")
  for i = 1, math.tointeger(n) do
    wr:write(pack(FMT, i, 7))
    local a, b = unpack(FMT, rd:read(16))
    if a ~= i or b ~= 7 then error("bad reply") end
  end
  wr:close()
else
  error("usage: lua_pipe.lua pong | ping <n>")
end
