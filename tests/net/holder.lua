-- A task of the network boot's case dead_task_sockets_closed (cases.lua):
-- opens five sockets (three connections to the runner's TCP server, a UDP
-- socket, a listener on 2024), tells its parent how many, and sleeps
-- until it is deleted.
local socket = require "socket"
local parent, port = ...
parent = l4.id(parent)
local keep = {}
for i = 1, 3 do keep[i] = assert(socket.connect("10.0.2.2", port)) end
keep[4] = assert(socket.udp())
keep[5] = assert(socket.bind("*", 2024))
l4.send(parent, 1, #keep)
l4.sleep()
