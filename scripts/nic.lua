-- nic.lua: the protocol between a network card's driver (drivers-lua/
-- virtio_net.lua, the task "net0") and the network service that uses it
-- (scripts/net.lua); docs/network.md "The frame protocol".
--
--   INFO              -> 0, mtu, mac (6 bytes)
--   ATTACH            -> 0: from now on the driver sends this thread what
--                        it receives (frames, below), until another attaches
--   XMIT frames       -> 0, frames sent, frames dropped (no room in the card)
--   STATS             -> 0, rx frames, tx frames, rx dropped, tx dropped,
--                        the times the driver set the card up again
--                        (drivers-lua/virtio_net.lua: its watch)
--   an error          -> 1, message
--   (a message carries its integers first, then its strings)
--   driver -> user:   l4.send(user, RX, frames): a send, not a call (no
--                     answer). If the user does not receive within
--                     RX_WAIT ms the frames are dropped and counted.
--
-- Frames travel packed, several in one string of at most MAX bytes: each
-- Ethernet frame (without the FCS) after its length in 2 bytes,
-- big-endian (lwip.input and lwip.output read and write the same).
--
-- Who calls whom: the user calls the driver (XMIT) only with a send
-- timeout of 0, and the driver never calls the user. So they never wait
-- for each other at once: an XMIT that finds the driver busy (sending RX)
-- fails at once and the user tries again after its next receive.
local M = {}

M.INFO, M.ATTACH, M.XMIT, M.STATS = 1, 2, 3, 4
M.RX = 0x100                    -- apart from every request label of net_proto.lua
M.MAX = 60 << 10                -- bytes of frames in one message
M.RX_WAIT = 200                 -- ms the driver waits for its user to receive

-- Packs frames (a list of strings) into strings of at most M.MAX bytes.
function M.pack(frames)
  local out, cur, size = {}, {}, 0
  for _, f in ipairs(frames) do
    if size + 2 + #f > M.MAX and #cur > 0 then
      out[#out + 1] = table.concat(cur)
      cur, size = {}, 0
    end
    cur[#cur + 1] = string.pack(">s2", f)
    size = size + 2 + #f
  end
  if #cur > 0 then out[#out + 1] = table.concat(cur) end
  return out
end

-- The frames of a packed string, as a list (a cut last frame is dropped).
function M.unpack(s)
  local frames, at = {}, 1
  while at + 1 <= #s do
    local n = string.unpack(">I2", s, at)
    if at + 1 + n > #s then break end
    frames[#frames + 1] = s:sub(at + 2, at + 1 + n)
    at = at + 2 + n
  end
  return frames
end

return M
