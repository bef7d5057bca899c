"""What `tcp-lab sniff --demo` says as it performs each act of its real connection
(tui/live_demo.py), in English and Chinese (core/explain.py).

Keys are ``demo:<act>``. Placeholders: {server} (the server's address and port, e.g.
127.0.0.1:40123), {n} (the act's number) and {total} (how many acts there are).
What each act predicts is what a Linux kernel does; the live panes show whether the
captured segments bear it out.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "demo:listen": {
        "en": "Act {n}/{total}: the server calls listen() on {server}. Its socket is now in LISTEN, waiting for a "
        "SYN (a passive OPEN, RFC 9293 3.10.1). Nothing is sent, so nothing appears on the wire yet.",
        "zh": "第 {n}/{total} 幕：服务端在 {server} 上调用 listen()。它的套接字进入 LISTEN，等待 SYN 到来"
        "（被动打开，RFC 9293 3.10.1）。此时不发送任何报文段，线路上还什么都没有。",
    },
    "demo:connect": {
        "en": "Act {n}/{total}: the client calls connect() to {server}: the three-way handshake. The client's SYN "
        "(SYN_SENT), the server's SYN-ACK (SYN_RCVD), the client's ACK: both sides are ESTABLISHED "
        "(RFC 9293 3.5). The server's accept() then hands the connection to the application.",
        "zh": "第 {n}/{total} 幕：客户端调用 connect() 连接 {server}，开始三次握手：客户端发 SYN（SYN_SENT），"
        "服务端回 SYN-ACK（SYN_RCVD），客户端再回 ACK，双方都进入 ESTABLISHED（RFC 9293 3.5）。"
        "随后服务端的 accept() 把这条连接交给应用程序。",
    },
    "demo:client-data": {
        "en": "Act {n}/{total}: the client sends a short request. The data travels with PSH and ACK; the server's "
        "kernel acknowledges it (right away or after a short delayed-ACK wait). States do not change: data "
        "flows in ESTABLISHED.",
        "zh": "第 {n}/{total} 幕：客户端发送一个简短的请求。数据带着 PSH 和 ACK 标志发出；服务端内核确认它"
        "（立即确认，或稍等片刻的延迟确认）。状态不变：数据在 ESTABLISHED 中传输。",
    },
    "demo:server-data": {
        "en": "Act {n}/{total}: the server answers. Its data goes the other way and the client acknowledges it. "
        "Each side's ACK number is the next byte it expects from the other (RFC 9293 3.4).",
        "zh": "第 {n}/{total} 幕：服务端作出应答。数据沿反方向传输，客户端确认它。"
        "每一方的确认号都是它期望从对方收到的下一个字节（RFC 9293 3.4）。",
    },
    "demo:half-close": {
        "en": "Act {n}/{total}: the client calls shutdown(SHUT_WR): it has nothing more to send. Its FIN goes out "
        "(FIN_WAIT_1); the server's ACK moves it to FIN_WAIT_2. The server, told by the FIN that the client is "
        "done, is in CLOSE_WAIT: its read() returns end-of-file, but it may still send (RFC 9293 3.6).",
        "zh": "第 {n}/{total} 幕：客户端调用 shutdown(SHUT_WR)：它不再发送数据。它的 FIN 发出（FIN_WAIT_1），"
        "收到服务端的 ACK 后进入 FIN_WAIT_2。服务端从 FIN 得知客户端已发送完毕，进入 CLOSE_WAIT："
        "它的 read() 读到文件结束，但它仍然可以继续发送（RFC 9293 3.6）。",
    },
    "demo:close-wait-data": {
        "en": "Act {n}/{total}: the server, in CLOSE_WAIT, still sends data: a half-closed connection carries data "
        "the other way. The client, in FIN_WAIT_2, still receives and acknowledges it.",
        "zh": "第 {n}/{total} 幕：处于 CLOSE_WAIT 的服务端仍在发送数据：半关闭的连接在另一个方向上照样传数据。"
        "处于 FIN_WAIT_2 的客户端仍然接收并确认这些数据。",
    },
    "demo:server-close": {
        "en": "Act {n}/{total}: the server calls close(). Its FIN goes out (LAST_ACK); the client acknowledges it and "
        "enters TIME_WAIT; that ACK closes the server's side (CLOSED). The client's side lingers in "
        "TIME_WAIT for 2MSL (60 s on Linux) in case its last ACK was lost (RFC 9293 3.6).",
        "zh": "第 {n}/{total} 幕：服务端调用 close()。它的 FIN 发出（LAST_ACK）；客户端确认并进入 TIME_WAIT；"
        "这个 ACK 让服务端一侧关闭（CLOSED）。客户端一侧在 TIME_WAIT 中停留 2MSL（Linux 上为 60 秒），"
        "以防最后的 ACK 丢失（RFC 9293 3.6）。",
    },
    "demo:client-close": {
        "en": "Act {n}/{total}: the client closes its socket. No segment is sent: its FIN went long ago. The "
        "kernel keeps the connection in TIME_WAIT (ss -tan shows it) until the timer ends; the demo is over.",
        "zh": "第 {n}/{total} 幕：客户端关闭它的套接字。不会发送任何报文段：它的 FIN 早已发出。内核把这条连接"
        "留在 TIME_WAIT 中（ss -tan 可以看到），直到计时结束；演示到此结束。",
    },
}
