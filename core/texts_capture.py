"""Explanations of what a captured segment did to both endpoints (replay and live sniff).

A row of a replayed capture is explained by two rules of core/inference.py: the sender's
(what sending the segment says about it) and the receiver's (what processing it does).
Their texts are written here one half at a time, `SEND` and `RECEIVE`, and put together
into the catalogue `TEXTS` under "cap:<send key>+<receive key>" (and "...+crossed" when a
segment that crossed this one on the wire reached its sender right after). Placeholders:
{Sender}/{sender}, {Receiver}/{receiver} (client or server), {sender_zh}/{receiver_zh},
{send_state}/{recv_state} (their states after the segment).
"""

from __future__ import annotations

SEND: dict[str, dict[str, str]] = {
    "send.syn": {
        "en": "The {sender} opens the connection: it picks its initial sequence number (ISN), sends a SYN carrying it and enters SYN_SENT (RFC 9293 §3.10.1, active OPEN).",
        "zh": "{sender_zh}发起连接：选好自己的初始序列号（ISN），发出带着它的 SYN，进入 SYN_SENT（RFC 9293 §3.10.1，主动打开）。",
    },
    "send.syn_from_listen": {
        "en": "The {sender} sends a SYN of its own: it is not a listening server but a second endpoint opening at the same moment (a simultaneous open); it enters SYN_SENT (RFC 9293 §3.5, §3.10.2).",
        "zh": "{sender_zh}也发出了自己的 SYN：它不是在监听的服务端，而是同时发起连接的另一端（同时打开），进入 SYN_SENT（RFC 9293 §3.5、§3.10.2）。",
    },
    "send.syn_again": {
        "en": "The {sender} sends the same SYN again (same ISN): no answer came before its retransmission timer fired (RFC 9293 §3.8.1). It stays in {send_state}.",
        "zh": "{sender_zh}再次发送同一个 SYN（ISN 不变）：重传定时器到期前没有收到回应（RFC 9293 §3.8.1），仍处于 {send_state}。",
    },
    "send.syn_crossed": {
        "en": "The {sender} sends its own SYN: it had opened at the same moment, before the {receiver}'s SYN reached it, so the two SYNs crossed on the wire. When that SYN arrives it moves from SYN_SENT to SYN_RCVD (RFC 9293 §3.10.7.3, simultaneous open).",
        "zh": "{sender_zh}发出自己的 SYN：它在{receiver_zh}的 SYN 到达之前就已同时发起连接，两个 SYN 在线路上交错而过。等那个 SYN 到达，它从 SYN_SENT 进入 SYN_RCVD（RFC 9293 §3.10.7.3，同时打开）。",
    },
    "send.synack": {
        "en": "The {sender} answers the SYN with SYN+ACK: it sends its own ISN and acknowledges the {receiver}'s ISN + 1. It stays in SYN_RCVD until its SYN is acknowledged (RFC 9293 §3.10.7.2).",
        "zh": "{sender_zh}用 SYN+ACK 回应：带上自己的 ISN，并确认对方的 ISN + 1。在自己的 SYN 被确认之前，它停留在 SYN_RCVD（RFC 9293 §3.10.7.2）。",
    },
    "send.synack_syn_unseen": {
        "en": "The {sender} sends SYN+ACK: it must have received a SYN that the capture did not record, so it is in SYN_RCVD (RFC 9293 §3.10.7.2).",
        "zh": "{sender_zh}发出 SYN+ACK：它一定收到过一个抓包里没有记录的 SYN，因此处于 SYN_RCVD（RFC 9293 §3.10.7.2）。",
    },
    "send.synack_simultaneous": {
        "en": "The {sender} was in SYN_SENT and sends SYN+ACK: the {receiver}'s SYN reached it (simultaneous open), so it is now in SYN_RCVD (RFC 9293 §3.10.7.3).",
        "zh": "{sender_zh}本在 SYN_SENT，现在发出 SYN+ACK：对方的 SYN 已到达（同时打开），所以它进入 SYN_RCVD（RFC 9293 §3.10.7.3）。",
    },
    "send.synack_again": {
        "en": "The {sender} sends its SYN+ACK again (same ISN): the acknowledgment of it never came back, or the SYN was repeated (RFC 9293 §3.8.1). It is in {send_state}.",
        "zh": "{sender_zh}再次发送它的 SYN+ACK（ISN 不变）：对它的确认一直没有回来，或者对方重复了 SYN（RFC 9293 §3.8.1）。它处于 {send_state}。",
    },
    "send.synack_crossed": {
        "en": "The {sender} sends SYN+ACK although it is already ESTABLISHED: it sent it before the {receiver}'s SYN+ACK reached it, and the two crossed on the wire (simultaneous open, RFC 9293 §3.10.7.4).",
        "zh": "{sender_zh}虽已是 ESTABLISHED，仍发出 SYN+ACK：它在对方的 SYN+ACK 到达之前就发出了，两者在线路上交错（同时打开，RFC 9293 §3.10.7.4）。",
    },
    "send.ack": {
        "en": "The {sender} sends an acknowledgment (ACK, no data): its state does not change ({send_state}).",
        "zh": "{sender_zh}发出一个确认（ACK，不带数据），状态不变（{send_state}）。",
    },
    "send.ack_synack_unseen": {
        "en": "The {sender} sends an ACK without SYN: its handshake must have completed in segments the capture missed, so it is ESTABLISHED (RFC 9293 §3.10.7.3).",
        "zh": "{sender_zh}发出不带 SYN 的 ACK：它的握手一定在抓包漏掉的报文里完成了，所以处于 ESTABLISHED（RFC 9293 §3.10.7.3）。",
    },
    "send.data": {
        "en": "The {sender} sends data; the bytes take the next sequence numbers and move its SND.NXT forward (RFC 9293 §3.10.2). It stays in {send_state}.",
        "zh": "{sender_zh}发送数据，这些字节占用接下来的序列号，SND.NXT 随之前移（RFC 9293 §3.10.2），状态仍是 {send_state}。",
    },
    "send.data_again": {
        "en": "The {sender} sends bytes it had already sent: a retransmission (RFC 9293 §3.8.1). Its state does not change ({send_state}).",
        "zh": "{sender_zh}发送的是已经发过的字节：这是一次重传（RFC 9293 §3.8.1），状态不变（{send_state}）。",
    },
    "send.keepalive": {
        "en": "The {sender} sends a keep-alive: a segment one byte below what it has sent, which makes the peer answer with an ACK if it is still there (RFC 9293 §3.8.4).",
        "zh": "{sender_zh}发出保活报文：序列号比已发送的少一，对方若还在就会回一个 ACK（RFC 9293 §3.8.4）。",
    },
    "send.fin_first": {
        "en": "The {sender} closes first: its application called close, it sends FIN and enters FIN_WAIT_1. It will send no more data but can still receive (RFC 9293 §3.10.4, §3.6).",
        "zh": "{sender_zh}先关闭：应用调用了 close，它发出 FIN，进入 FIN_WAIT_1。之后不再发送数据，但仍可接收（RFC 9293 §3.10.4、§3.6）。",
    },
    "send.fin_handshake_unseen": {
        "en": "The {sender} sends FIN on a connection whose handshake the capture did not show; it closes its side and enters FIN_WAIT_1 (RFC 9293 §3.10.4).",
        "zh": "{sender_zh}在一个抓包没看到握手的连接上发出 FIN，关闭自己这一侧，进入 FIN_WAIT_1（RFC 9293 §3.10.4）。",
    },
    "send.fin_second": {
        "en": "The {sender} now closes too: it sends its own FIN and moves from CLOSE_WAIT to LAST_ACK, waiting for the acknowledgment of that FIN (RFC 9293 §3.10.4).",
        "zh": "{sender_zh}现在也关闭了：发出自己的 FIN，从 CLOSE_WAIT 进入 LAST_ACK，等待对这个 FIN 的确认（RFC 9293 §3.10.4）。",
    },
    "send.fin_again": {
        "en": "The {sender} sends its FIN again: it was not acknowledged before the retransmission timer fired, so sending it again changes none of its state (RFC 9293 §3.8.1).",
        "zh": "{sender_zh}再次发送 FIN：重传定时器到期前它没有被确认，重发它并不改变自己的状态（RFC 9293 §3.8.1）。",
    },
    "send.fin_again_ack_lost": {
        "en": "The {sender} sends its FIN again although an ACK of it is in the capture: that ACK never reached it, so it was still waiting for it and is back in {send_state} (RFC 9293 §3.8.1).",
        "zh": "{sender_zh}再次发送 FIN，尽管抓包里有对它的确认：那个 ACK 没有到达它，它其实一直在等，因此回到 {send_state}（RFC 9293 §3.8.1）。",
    },
    "send.fin_again_crossed": {
        "en": "The {sender} sends its FIN again just as the ACK of it arrives: the timer fired while that ACK was on its way. Its state stays {send_state} (RFC 9293 §3.8.1).",
        "zh": "{sender_zh}再次发送 FIN，恰好对它的 ACK 也正在到来：定时器在 ACK 还在路上时到期了。状态保持 {send_state}（RFC 9293 §3.8.1）。",
    },
    "send.fin_crossed": {
        "en": "The {sender} sends its FIN before the {receiver}'s FIN reached it (its ACK number does not cover that FIN): the two FINs crossed. It was in FIN_WAIT_1 when the other FIN arrived, so it is now in CLOSING (RFC 9293 §3.10.7.4, simultaneous close).",
        "zh": "{sender_zh}在对方的 FIN 到达之前就发出了自己的 FIN（它的确认号没有覆盖那个 FIN）：两个 FIN 交错而过。对方 FIN 到达时它在 FIN_WAIT_1，所以现在进入 CLOSING（RFC 9293 §3.10.7.4，同时关闭）。",
    },
    "send.rst": {
        "en": "The {sender} aborts the connection with RST: everything is dropped at once, with no FIN exchange and no TIME_WAIT; it is CLOSED (RFC 9293 §3.10.5).",
        "zh": "{sender_zh}用 RST 中止连接：一切立即丢弃，不经过 FIN 交换，也没有 TIME_WAIT，进入 CLOSED（RFC 9293 §3.10.5）。",
    },
    "send.rst_closed": {
        "en": "The {sender} answers with RST: it has no connection for this segment, and a reset is what a closed port sends back (RFC 9293 §3.10.7.1, §3.5.2).",
        "zh": "{sender_zh}回以 RST：它没有这个报文所属的连接，关闭的端口就是用复位来回应的（RFC 9293 §3.10.7.1、§3.5.2）。",
    },
    "send.rst_listen": {
        "en": "The {sender} is only listening and answers a segment that is not a SYN with RST (RFC 9293 §3.10.7.2).",
        "zh": "{sender_zh}只是在监听，对不是 SYN 的报文回以 RST（RFC 9293 §3.10.7.2）。",
    },
    "send.rst_refused": {
        "en": "The {sender} answers the SYN with RST+ACK: no process listens on this port, so the connection is refused and there never was a connection on its side: it stays CLOSED (RFC 9293 §3.10.7.1).",
        "zh": "{sender_zh}用 RST+ACK 回应 SYN：这个端口上没有进程在监听，连接被拒绝，它这一侧从未有过连接，保持 CLOSED（RFC 9293 §3.10.7.1）。",
    },
    "send.rst_reply": {
        "en": "The {sender} answers a SYN+ACK that acknowledged the wrong number (an old duplicate) with RST, and keeps waiting in SYN_SENT for the right answer (RFC 9293 §3.10.7.3, §3.5).",
        "zh": "{sender_zh}收到的 SYN+ACK 确认号不对（旧的重复报文），于是回以 RST，继续在 SYN_SENT 等待正确的回应（RFC 9293 §3.10.7.3、§3.5）。",
    },
}

RECEIVE: dict[str, dict[str, str]] = {
    "recv.syn": {
        "en": "The SYN reaches the listening {receiver}: it records the {sender}'s ISN (IRS), sets RCV.NXT to ISN + 1 and enters SYN_RCVD (RFC 9293 §3.10.7.2).",
        "zh": "SYN 到达正在监听的{receiver_zh}：它记下对方的 ISN（IRS），令 RCV.NXT = ISN + 1，进入 SYN_RCVD（RFC 9293 §3.10.7.2）。",
    },
    "recv.syn_closed": {
        "en": "The SYN reaches the {receiver}, but nothing listens on that port: it stays CLOSED and will answer with RST (RFC 9293 §3.10.7.1).",
        "zh": "SYN 到达{receiver_zh}，但该端口没有监听者：它保持 CLOSED，并会回以 RST（RFC 9293 §3.10.7.1）。",
    },
    "recv.syn_simultaneous": {
        "en": "The SYN reaches the {receiver}, which is itself in SYN_SENT: both opened at once. It enters SYN_RCVD and will answer with SYN+ACK (RFC 9293 §3.10.7.3).",
        "zh": "SYN 到达{receiver_zh}，而它自己也在 SYN_SENT：双方同时发起。它进入 SYN_RCVD，并会回以 SYN+ACK（RFC 9293 §3.10.7.3）。",
    },
    "recv.syn_again": {
        "en": "The repeated SYN reaches the {receiver}, still in SYN_RCVD: it answers with its SYN+ACK again (RFC 9293 §3.10.7.4).",
        "zh": "重复的 SYN 到达仍在 SYN_RCVD 的{receiver_zh}：它再次回以 SYN+ACK（RFC 9293 §3.10.7.4）。",
    },
    "recv.syn_challenge": {
        "en": "A SYN reaches the {receiver} on a connection that is already synchronized: it does not reset anything but answers with an ACK (a challenge ACK, RFC 9293 §3.10.7.4, RFC 5961). It stays in {recv_state}.",
        "zh": "SYN 到达已同步连接上的{receiver_zh}：它不复位连接，只回一个 ACK（挑战 ACK，RFC 9293 §3.10.7.4、RFC 5961），仍处于 {recv_state}。",
    },
    "recv.synack": {
        "en": "The SYN+ACK reaches the {receiver}: it acknowledges the {receiver}'s SYN, so the {receiver} records the {sender}'s ISN, is ESTABLISHED and will send the third segment, an ACK (RFC 9293 §3.10.7.3).",
        "zh": "SYN+ACK 到达{receiver_zh}：它确认了{receiver_zh}的 SYN，于是{receiver_zh}记下对方的 ISN，进入 ESTABLISHED，并将发出第三次握手的 ACK（RFC 9293 §3.10.7.3）。",
    },
    "recv.synack_simultaneous": {
        "en": "The SYN+ACK reaches the {receiver} in SYN_RCVD: its own SYN is now acknowledged, so it is ESTABLISHED (RFC 9293 §3.10.7.4, simultaneous open).",
        "zh": "SYN+ACK 到达处于 SYN_RCVD 的{receiver_zh}：它自己的 SYN 也被确认了，于是进入 ESTABLISHED（RFC 9293 §3.10.7.4，同时打开）。",
    },
    "recv.synack_again": {
        "en": "The repeated SYN+ACK reaches the {receiver}, already {recv_state}: it answers with an ACK again (RFC 9293 §3.10.7.4).",
        "zh": "重复的 SYN+ACK 到达已处于 {recv_state} 的{receiver_zh}：它再回一个 ACK（RFC 9293 §3.10.7.4）。",
    },
    "recv.synack_unexpected": {
        "en": "A SYN+ACK reaches the {receiver}, which never sent a SYN: it is not part of any connection there and is answered with RST (RFC 9293 §3.10.7.2).",
        "zh": "SYN+ACK 到达从未发过 SYN 的{receiver_zh}：它不属于那里的任何连接，会被回以 RST（RFC 9293 §3.10.7.2）。",
    },
    "recv.synack_bad": {
        "en": "The SYN+ACK reaches the {receiver} but acknowledges a sequence number it never sent (an old duplicate connection): it answers with RST and stays in {recv_state} (RFC 9293 §3.10.7.3, §3.5). This is why the handshake has three segments.",
        "zh": "SYN+ACK 到达{receiver_zh}，但确认的是它从未发送过的序列号（旧的重复连接）：它回以 RST，保持 {recv_state}（RFC 9293 §3.10.7.3、§3.5）。这正是握手需要三次的原因。",
    },
    "recv.ack_of_syn": {
        "en": "The ACK reaches the {receiver}: it acknowledges the {receiver}'s SYN, which completes the three-way handshake; the {receiver} is ESTABLISHED (RFC 9293 §3.10.7.4).",
        "zh": "ACK 到达{receiver_zh}：它确认了{receiver_zh}的 SYN，三次握手完成，{receiver_zh}进入 ESTABLISHED（RFC 9293 §3.10.7.4）。",
    },
    "recv.ack_of_fin_fw1": {
        "en": "The ACK reaches the {receiver}: its FIN is acknowledged, so it moves from FIN_WAIT_1 to FIN_WAIT_2 and waits for the {sender}'s FIN; the {sender} may still send data (RFC 9293 §3.10.7.4).",
        "zh": "ACK 到达{receiver_zh}：它的 FIN 已被确认，从 FIN_WAIT_1 进入 FIN_WAIT_2，等待对方的 FIN；对方仍可以继续发送数据（RFC 9293 §3.10.7.4）。",
    },
    "recv.ack_of_fin_closing": {
        "en": "The ACK reaches the {receiver} in CLOSING: its FIN is acknowledged too, so it enters TIME_WAIT and waits 2MSL (60 s on Linux) before forgetting the connection (RFC 9293 §3.10.7.4).",
        "zh": "ACK 到达处于 CLOSING 的{receiver_zh}：它的 FIN 也被确认了，进入 TIME_WAIT，等待 2MSL（Linux 为 60 秒）后才忘掉这个连接（RFC 9293 §3.10.7.4）。",
    },
    "recv.ack_of_fin_last_ack": {
        "en": "The last ACK reaches the {receiver} in LAST_ACK: its FIN is acknowledged, the connection is over on its side and it is CLOSED (RFC 9293 §3.10.7.4).",
        "zh": "最后的 ACK 到达处于 LAST_ACK 的{receiver_zh}：它的 FIN 被确认，这一侧的连接结束，进入 CLOSED（RFC 9293 §3.10.7.4）。",
    },
    "recv.ack": {
        "en": "It reaches the {receiver}, which stays in {recv_state}.",
        "zh": "报文到达{receiver_zh}，它仍处于 {recv_state}。",
    },
    "recv.data": {
        "en": "The data reaches the {receiver} ({recv_state}), which will acknowledge it.",
        "zh": "数据到达{receiver_zh}（{recv_state}），它会对其进行确认。",
    },
    "recv.fin_first": {
        "en": "The FIN reaches the {receiver}: the {sender} will send nothing more. The {receiver} acknowledges it and enters CLOSE_WAIT, where it may still send data until its own application closes (RFC 9293 §3.10.7.4).",
        "zh": "FIN 到达{receiver_zh}：对方不会再发送数据了。{receiver_zh}确认它并进入 CLOSE_WAIT，在自己的应用关闭之前仍可以发送数据（RFC 9293 §3.10.7.4）。",
    },
    "recv.fin_simultaneous": {
        "en": "The FIN reaches the {receiver} in FIN_WAIT_1, before the ACK of its own FIN: both closed at once. It enters CLOSING and waits for that ACK (RFC 9293 §3.10.7.4).",
        "zh": "FIN 到达处于 FIN_WAIT_1 的{receiver_zh}，此时它自己的 FIN 还没被确认：双方同时关闭。它进入 CLOSING，等待那个确认（RFC 9293 §3.10.7.4）。",
    },
    "recv.fin_second": {
        "en": "The FIN reaches the {receiver}, which was in FIN_WAIT_2: it acknowledges it and enters TIME_WAIT, where it waits 2MSL (60 s on Linux) so that a lost last ACK can be sent again and old segments die out (RFC 9293 §3.10.7.4, §3.4.2).",
        "zh": "FIN 到达处于 FIN_WAIT_2 的{receiver_zh}：它确认这个 FIN 并进入 TIME_WAIT，在那里等待 2MSL（Linux 为 60 秒），以便最后的 ACK 丢失时能重发，也让旧报文在网络中消失（RFC 9293 §3.10.7.4、§3.4.2）。",
    },
    "recv.fin_acking_fin": {
        "en": "The FIN reaches the {receiver} in FIN_WAIT_1 and acknowledges its FIN in the same segment: it goes straight to TIME_WAIT and waits 2MSL (RFC 9293 §3.10.7.4).",
        "zh": "FIN 到达处于 FIN_WAIT_1 的{receiver_zh}，并在同一个报文里确认了它的 FIN：它直接进入 TIME_WAIT，等待 2MSL（RFC 9293 §3.10.7.4）。",
    },
    "recv.fin_again": {
        "en": "The repeated FIN reaches the {receiver}, which already has it: it acknowledges it again and stays in {recv_state} (RFC 9293 §3.10.7.4).",
        "zh": "重复的 FIN 到达已经收到过它的{receiver_zh}：它再次确认，仍处于 {recv_state}（RFC 9293 §3.10.7.4）。",
    },
    "recv.fin_time_wait": {
        "en": "The FIN reaches the {receiver} in TIME_WAIT: it acknowledges it again and restarts its 2MSL timer. This is exactly what TIME_WAIT is for (RFC 9293 §3.10.7.4).",
        "zh": "FIN 到达处于 TIME_WAIT 的{receiver_zh}：它再次确认，并重新开始 2MSL 计时。这正是 TIME_WAIT 存在的意义（RFC 9293 §3.10.7.4）。",
    },
    "recv.fin_ignored": {
        "en": "The FIN reaches the {receiver} in {recv_state}, where a FIN is not processed (RFC 9293 §3.10.7.4).",
        "zh": "FIN 到达处于 {recv_state} 的{receiver_zh}，在这个状态下 FIN 不被处理（RFC 9293 §3.10.7.4）。",
    },
    "recv.rst": {
        "en": "The RST reaches the {receiver} with exactly the expected sequence number, so it is accepted: the connection is gone and the {receiver} is CLOSED; its application sees \u201cconnection reset\u201d (RFC 9293 §3.10.7.4, RFC 5961).",
        "zh": "RST 到达{receiver_zh}，序列号正是期望的值，因此被接受：连接被撤销，{receiver_zh}进入 CLOSED，应用会看到“连接被重置”（RFC 9293 §3.10.7.4、RFC 5961）。",
    },
    "recv.rst_closing": {
        "en": "The RST reaches the {receiver} while it was closing: the connection ends at once and it is CLOSED, with no TIME_WAIT (RFC 9293 §3.10.7.4).",
        "zh": "RST 在{receiver_zh}关闭过程中到达：连接立即结束，进入 CLOSED，不再经过 TIME_WAIT（RFC 9293 §3.10.7.4）。",
    },
    "recv.rst_syn_sent": {
        "en": "The RST reaches the {receiver} in SYN_SENT and acknowledges its SYN: the connection is refused, connect() fails and the {receiver} is CLOSED (RFC 9293 §3.10.7.3).",
        "zh": "RST 到达处于 SYN_SENT 的{receiver_zh}，并确认了它的 SYN：连接被拒绝，connect() 失败，{receiver_zh}进入 CLOSED（RFC 9293 §3.10.7.3）。",
    },
    "recv.rst_syn_rcvd": {
        "en": "The RST reaches the {receiver} in SYN_RCVD: the half-open connection is dropped and the listener goes on listening (RFC 9293 §3.10.7.4).",
        "zh": "RST 到达处于 SYN_RCVD 的{receiver_zh}：半开的连接被丢弃，监听者继续监听（RFC 9293 §3.10.7.4）。",
    },
    "recv.rst_ignored_closed": {
        "en": "The RST reaches the {receiver}, which has no connection: a reset is never answered (RFC 9293 §3.10.7.1).",
        "zh": "RST 到达没有连接的{receiver_zh}：对复位报文从不回应（RFC 9293 §3.10.7.1）。",
    },
    "recv.rst_ignored_listen": {
        "en": "The RST reaches the listening {receiver}, which ignores it (RFC 9293 §3.10.7.2).",
        "zh": "RST 到达正在监听的{receiver_zh}，被忽略（RFC 9293 §3.10.7.2）。",
    },
    "recv.rst_unacceptable_syn_sent": {
        "en": "The RST reaches the {receiver} in SYN_SENT without acknowledging its SYN, so it is ignored (RFC 9293 §3.10.7.3).",
        "zh": "RST 到达处于 SYN_SENT 的{receiver_zh}，但没有确认它的 SYN，因此被忽略（RFC 9293 §3.10.7.3）。",
    },
    "recv.rst_challenge": {
        "en": "The RST reaches the {receiver} inside its window but not at the exact expected sequence number: it could be forged, so the {receiver} keeps the connection and answers with a challenge ACK (RFC 5961 §3.2). It stays in {recv_state}.",
        "zh": "RST 落在{receiver_zh}的接收窗口内，但不是恰好期望的序列号：它可能是伪造的，所以{receiver_zh}保留连接，回一个挑战 ACK（RFC 5961 §3.2），仍处于 {recv_state}。",
    },
    "recv.rst_out_of_window": {
        "en": "The RST reaches the {receiver} with a sequence number outside its window: it is dropped without effect (RFC 9293 §3.10.7.4, RFC 5961 §3.2). It stays in {recv_state}.",
        "zh": "RST 的序列号在{receiver_zh}的窗口之外：被直接丢弃，没有任何影响（RFC 9293 §3.10.7.4、RFC 5961 §3.2），仍处于 {recv_state}。",
    },
    "recv.lost": {
        "en": "This segment never reached the {receiver}: a later segment shows it (the same SYN or FIN sent again, or the {receiver} behaving as if it had not arrived). The capture saw it before it was lost. The {receiver} stays in {recv_state} (RFC 9293 §3.8.1).",
        "zh": "这个报文并没有到达{receiver_zh}：后面的报文说明了这一点（同一个 SYN 或 FIN 又发了一遍，或{receiver_zh}的表现就像没收到）。抓包在它丢失之前看到了它。{receiver_zh}仍处于 {recv_state}（RFC 9293 §3.8.1）。",
    },
    "recv.in_flight": {
        "en": "This segment is still on its way when the {receiver} sends its next segment (the two cross on the wire); it reaches the {receiver} only after that. For now the {receiver} stays in {recv_state}.",
        "zh": "{receiver_zh}发出下一个报文时，这个报文还在路上（两者在线路上交错），要等那之后才到达。此刻{receiver_zh}仍处于 {recv_state}。",
    },
    "recv.gone": {
        "en": "The segment reaches the {receiver}, which had already dropped the connection without sending anything (on Linux an orphaned FIN_WAIT_2 ends after tcp_fin_timeout, 60 s by default): it is CLOSED and will answer with RST (RFC 9293 §3.10.7.1).",
        "zh": "报文到达{receiver_zh}时，它已悄无声息地丢弃了这个连接（Linux 上孤儿 FIN_WAIT_2 在 tcp_fin_timeout 后结束，默认 60 秒）：它已是 CLOSED，会回以 RST（RFC 9293 §3.10.7.1）。",
    },
}

CROSSED = {
    "en": "Right after sending it, the {sender} receives the {receiver}'s earlier segment that crossed it on the wire, and is now in {send_state}.",
    "zh": "刚发出后，{sender_zh}就收到了对方先前发出、与之在线路上交错的报文，现在处于 {send_state}。",
}


def _catalogue() -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for skey, stext in SEND.items():
        for rkey, rtext in RECEIVE.items():
            key = f"cap:{skey}+{rkey}"
            texts[key] = {"en": f"{stext['en']} {rtext['en']}", "zh": f"{stext['zh']}{rtext['zh']}"}
            texts[key + "+crossed"] = {
                "en": f"{stext['en']} {rtext['en']} {CROSSED['en']}",
                "zh": f"{stext['zh']}{rtext['zh']}{CROSSED['zh']}",
            }
    return texts


#: The catalogue core/explain.py loads.
TEXTS: dict[str, dict[str, str]] = _catalogue()
