-- A task of the network boot's case socket_given_to_another_task
-- (cases.lua): waits for its parent to give it a connection (the handle
-- and the data buffered with it, in a message), reads the line waiting
-- on it, exchanges one more, and tells its parent what it read.
local socket = require "socket"
local parent = l4.id((...))
local _, _, h, buffered = l4.receive(parent)
local c = socket.adopt(h, buffered)
c:settimeout(30)
local first = c:receive()
assert(c:send("ECHO from the taker\n"))
local second = c:receive()
c:close()
l4.send(parent, 1, tostring(first) .. "|" .. tostring(second))
