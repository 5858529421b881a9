-- net_proto.lua: the labels of the network service (scripts/net.lua),
-- shared with its client, scripts/socket.lua; docs/network.md "The socket
-- protocol". Handles are integers the service hands out; a timeout is in
-- ms, -1 for none (wait as long as it takes). A message carries its
-- integers before its strings (the kernel sends words, then string items),
-- so every request and reply lists them in that order:
--
--   STATUS                      -> 0, the interface (service.encode'd table)
--   TCP / UDP                   -> 0, handle
--   BIND h, port, addr          -> 0
--   LISTEN h, backlog           -> 0
--   ACCEPT h, timeout           -> 0, new handle
--   CONNECT h, port, timeout, addr -> 0
--   SEND h, timeout, data       -> 0, bytes sent
--   RECV h, max, timeout        -> 0, bytes (1 to max)
--   CLOSE h                     -> 0
--   SOCKNAME h / PEERNAME h     -> 0, port, addr
--   SENDTO h, port, data, addr  -> 0
--   RECVFROM h, timeout         -> 0, port, data, addr
--   SELECT timeout, rs, ws      -> 0, rs', ws'  (handle lists: string.pack'd "<i8"s)
--   RESOLVE timeout, name       -> 0, addr
--   STATS                       -> 0, counters (service.encode'd table)
--   GIVE h, task                -> 0: the socket is now that task's (its raw id)
--   a failure                   -> 1, code, bytes sent (SEND; else 0), message
--                                  ("closed", "timeout", ...: LuaSocket's words)
local M = {}

M.STATUS, M.TCP, M.UDP, M.BIND, M.LISTEN, M.ACCEPT, M.CONNECT, M.SEND, M.RECV, M.CLOSE =
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10
M.SOCKNAME, M.PEERNAME, M.SENDTO, M.RECVFROM, M.SELECT, M.RESOLVE, M.STATS, M.GIVE =
  11, 12, 13, 14, 15, 16, 17, 18

M.NAME = "net"                  -- the service's name in the name service
M.CHUNK = 60 << 10              -- bytes of data in one message, at most
M.FOREVER = -1

-- Failure codes (the third value of a failed reply).
M.E_CLOSED, M.E_TIMEOUT, M.E_INVAL, M.E_LIMIT, M.E_REFUSED, M.E_INUSE, M.E_NOTFOUND =
  1, 2, 3, 4, 5, 6, 7

function M.pack_handles(list)
  local t = {}
  for i, h in ipairs(list) do t[i] = string.pack("<i8", h) end
  return table.concat(t)
end

function M.unpack_handles(s)
  local list = {}
  if type(s) ~= "string" then return list end
  for at = 1, #s - 7, 8 do list[#list + 1] = string.unpack("<i8", s, at) end
  return list
end

return M
