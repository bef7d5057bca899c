"""What the lab says about each of its frames, in English and Chinese (core/explain.py).

Keys are the transition table's row ids (core/transitions.py) for application calls,
arriving segments and timers, ``send.<why>`` for a segment leaving its sender, and
``fault.*`` / ``wire.drop`` / ``app.close_on_fin`` for what the wire and the user do.

Placeholders a text may use: {who} {Who} {who_zh} (the endpoint the text is about: the
caller, the sender, the receiver or the timer's owner) and {peer} {Peer} {peer_zh};
segment frames add {seq} {ack} (relative) {len} {flags} {row}; application calls {n};
timers and sends {rto} (seconds) and {tries}; timers {msl2}.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------ application calls ---
    "closed.listen": {
        "en": "{Who} listens: a passive OPEN creates a TCB in LISTEN that waits for a SYN from anyone "
        "(RFC 9293 3.10.1). Nothing is sent yet.",
        "zh": "{who_zh}开始监听：被动打开（passive OPEN）创建一个处于 LISTEN 的 TCB，等待任何一方发来的 SYN"
        "（RFC 9293 3.10.1）。此时还不发送任何报文段。",
    },
    "closed.connect": {
        "en": "{Who} connects: it picks its initial sequence number (ISN), sends a SYN carrying it with its MSS "
        "and window-scale options, and enters SYN_SENT (RFC 9293 3.10.1). Its retransmission timer starts: "
        "without an answer within the RTO (1 s), the SYN goes again.",
        "zh": "{who_zh}发起连接：选定初始序列号（ISN），发送携带这个序列号以及 MSS、窗口扩大选项的 SYN，进入 SYN_SENT"
        "（RFC 9293 3.10.1）。重传定时器同时启动：RTO（1 秒）内没有回应就重发 SYN。",
    },
    "listen.connect": {
        "en": "{Who} was listening and now connects actively: the passive OPEN becomes an active one, a SYN goes "
        "out and the state is SYN_SENT (RFC 9293 3.10.1).",
        "zh": "{who_zh}原本在监听，现在主动发起连接：被动打开变为主动打开，发出 SYN，进入 SYN_SENT（RFC 9293 3.10.1）。",
    },
    "listen.close": {
        "en": "{Who} stops listening: the TCB is deleted and the state is CLOSED (RFC 9293 3.10.4). A SYN "
        "arriving now gets a RST.",
        "zh": "{who_zh}停止监听：删除 TCB，进入 CLOSED（RFC 9293 3.10.4）。之后到达的 SYN 会收到 RST。",
    },
    "listen.abort": {
        "en": "{Who} aborts while listening. Nobody is connected, so there is nobody to reset: the TCB is simply "
        "deleted (RFC 9293 3.10.5).",
        "zh": "{who_zh}在监听时中止。还没有任何连接，不需要重置谁：直接删除 TCB（RFC 9293 3.10.5）。",
    },
    "syn_sent.send": {
        "en": "{Who}'s application writes {n} bytes before the connection is open. TCP queues them and sends them "
        "once the handshake is done, possibly on the third segment (RFC 9293 3.10.2).",
        "zh": "连接还没建立，{who_zh}的应用程序就写入了 {n} 字节。TCP 先把它们排队，握手完成后再发送，"
        "可能就放在第三次握手的报文段里（RFC 9293 3.10.2）。",
    },
    "syn_sent.close": {
        "en": "{Who} closes before the handshake is over: the TCB is deleted and the SYN forgotten; the state is "
        "CLOSED (RFC 9293 3.10.4). A SYN-ACK that still arrives will meet a closed port and get a RST.",
        "zh": "握手还没完成，{who_zh}就关闭了：删除 TCB，忘掉已发出的 SYN，进入 CLOSED（RFC 9293 3.10.4）。"
        "之后仍到达的 SYN-ACK 会遇到一个关闭的端口，得到 RST。",
    },
    "syn_sent.abort": {
        "en": "{Who} aborts in SYN_SENT: the TCB is deleted without a RST, because the peer is not synchronized "
        "with it yet (RFC 9293 3.10.5).",
        "zh": "{who_zh}在 SYN_SENT 中止：直接删除 TCB，不发送 RST，因为对方还没有和它同步（RFC 9293 3.10.5）。",
    },
    "syn_rcvd.close": {
        "en": "{Who} closes during the handshake with nothing queued: its FIN goes out at once and it enters "
        "FIN_WAIT_1 (RFC 9293 3.10.4).",
        "zh": "{who_zh}在握手过程中关闭，且没有排队的数据：立即发出 FIN，进入 FIN_WAIT_1（RFC 9293 3.10.4）。",
    },
    "syn_rcvd.close_queued": {
        "en": "{Who} closes during the handshake while data is still queued: the CLOSE is remembered and carried "
        "out after that data, once the connection is established (RFC 9293 3.10.4).",
        "zh": "{who_zh}在握手过程中关闭，但还有排队的数据：这个 CLOSE 被记下，等连接建立、数据发出之后再执行"
        "（RFC 9293 3.10.4）。",
    },
    "established.send": {
        "en": "{Who}'s application writes {n} bytes. TCP cuts them into segments of at most one MSS, each with "
        "the ACK bit; the last carries PSH so the receiver hands the data up at once (RFC 9293 3.10.2, 3.9.1.2).",
        "zh": "{who_zh}的应用程序写入 {n} 字节。TCP 把数据切成不超过 MSS 的报文段，每段都带 ACK 标志；"
        "最后一段带 PSH，让接收方立即把数据交给应用程序（RFC 9293 3.10.2、3.9.1.2）。",
    },
    "established.close": {
        "en": "{Who} closes: \"I have nothing more to send\". A FIN follows any queued data and {who} enters "
        "FIN_WAIT_1 (RFC 9293 3.10.4). It can still receive: each direction is closed on its own.",
        "zh": "{who_zh}关闭：“我没有数据要发了”。FIN 跟在所有排队数据之后发出，{who_zh}进入 FIN_WAIT_1"
        "（RFC 9293 3.10.4）。它仍然可以接收数据：两个方向是分别关闭的。",
    },
    "close_wait.close": {
        "en": "{Who}'s application closes too, after the peer's FIN. Its own FIN goes out and {who} enters "
        "LAST_ACK, waiting for that FIN to be acknowledged (RFC 9293 3.10.4). CLOSE_WAIT lasted as long as the "
        "application took to close.",
        "zh": "在对方的 FIN 之后，{who_zh}的应用程序也关闭了。它发出自己的 FIN，进入 LAST_ACK，等待这个 FIN 被确认"
        "（RFC 9293 3.10.4）。CLOSE_WAIT 持续的时间，就是应用程序拖延关闭的时间。",
    },
    "sync.abort": {
        "en": "{Who} aborts: it sends a RST with Seq = SND.NXT, throws away everything queued and deletes the TCB "
        "at once: CLOSED, no FIN, no TIME_WAIT (RFC 9293 3.10.5). Linux sends [RST, ACK] here; the RFC shows a bare RST.",
        "zh": "{who_zh}中止连接：发送一个 Seq = SND.NXT 的 RST，丢弃所有排队的数据，立即删除 TCB：进入 CLOSED，"
        "没有 FIN，也没有 TIME_WAIT（RFC 9293 3.10.5）。Linux 在这里发送 [RST, ACK]，RFC 写的是单独的 RST。",
    },
    "closing.abort": {
        "en": "{Who} aborts while closing: both FINs are already on their way, so it just deletes the TCB, "
        "without a RST (RFC 9293 3.10.5).",
        "zh": "{who_zh}在关闭过程中中止：双方的 FIN 都已发出，所以直接删除 TCB，不发送 RST（RFC 9293 3.10.5）。",
    },
    "app.close_on_fin": {
        "en": "{Who}'s application will close as soon as it reads the peer's FIN, so its own FIN can ride on the "
        "ACK of the peer's: a three-segment close.",
        "zh": "{who_zh}的应用程序一读到对方的 FIN 就会关闭，这样它自己的 FIN 可以和对那个 FIN 的确认一起发出：三个报文段完成关闭。",
    },
    # ------------------------------------------------------------------------ timers ---
    "syn_sent.rto": {
        "en": "No SYN-ACK came back within the RTO, so {who} sends its SYN again (same ISN, same options) and "
        "doubles its RTO to {rto} s; retransmission {tries} (RFC 9293 3.10.8, RFC 6298 5.5).",
        "zh": "RTO 内没有收到 SYN-ACK，{who_zh}重发 SYN（同样的 ISN、同样的选项），并把 RTO 加倍为 {rto} 秒；"
        "这是第 {tries} 次重传（RFC 9293 3.10.8，RFC 6298 5.5）。",
    },
    "syn_rcvd.rto": {
        "en": "{Who}'s SYN-ACK was not acknowledged within the RTO: it sends the SYN-ACK again and doubles its "
        "RTO to {rto} s; retransmission {tries} (RFC 9293 3.10.8).",
        "zh": "{who_zh}的 SYN-ACK 在 RTO 内没有得到确认：重发 SYN-ACK，并把 RTO 加倍为 {rto} 秒；"
        "这是第 {tries} 次重传（RFC 9293 3.10.8）。",
    },
    "established.rto": {
        "en": "Data {who} sent was not acknowledged within the RTO: it resends the oldest unacknowledged segment "
        "and doubles its RTO to {rto} s; retransmission {tries} (RFC 9293 3.10.8, RFC 6298 5.4-5.6).",
        "zh": "{who_zh}发出的数据在 RTO 内没有得到确认：重发最早的未确认报文段，并把 RTO 加倍为 {rto} 秒；"
        "这是第 {tries} 次重传（RFC 9293 3.10.8，RFC 6298 5.4-5.6）。",
    },
    "fin_wait_1.rto": {
        "en": "{Who}'s FIN (or data sent before it) was not acknowledged within the RTO: it is sent again and the "
        "RTO doubles to {rto} s; retransmission {tries} (RFC 9293 3.10.8).",
        "zh": "{who_zh}的 FIN（或它之前的数据）在 RTO 内没有得到确认：重发，RTO 加倍为 {rto} 秒；"
        "这是第 {tries} 次重传（RFC 9293 3.10.8）。",
    },
    "last_ack.rto": {
        "en": "{Who} waits in LAST_ACK, but no ACK of its FIN came back within the RTO: it sends the FIN again "
        "(RFC 9293 3.10.8). The peer can only answer properly if it still remembers the connection: that is "
        "what its TIME_WAIT is for.",
        "zh": "{who_zh}在 LAST_ACK 等待，但 RTO 内没有收到对 FIN 的确认：重发 FIN（RFC 9293 3.10.8）。"
        "只有对方还记得这条连接，才能正确回应：这正是对方 TIME_WAIT 的作用。",
    },
    "syn_rcvd.give_up": {
        "en": "{Who} sent its SYN-ACK again {tries} times without an answer: it drops the half-open connection "
        "and goes back to LISTEN (RFC 9293 3.8.3).",
        "zh": "{who_zh}已经重发 SYN-ACK {tries} 次仍没有回应：放弃这个半开连接，回到 LISTEN（RFC 9293 3.8.3）。",
    },
    "rto.give_up": {
        "en": "{Who} retransmitted {tries} times without an acknowledgment: it gives up, the connection has "
        "timed out and is CLOSED (RFC 9293 3.8.3, threshold R2). Linux gives up on a SYN after 6 tries, 127 s.",
        "zh": "{who_zh}已经重传 {tries} 次仍没有确认：放弃，连接超时，进入 CLOSED（RFC 9293 3.8.3，阈值 R2）。"
        "Linux 对 SYN 重试 6 次后放弃，共约 127 秒。",
    },
    "time_wait.2msl": {
        "en": "{Who} has waited 2MSL ({msl2} s) in TIME_WAIT and is CLOSED (RFC 9293 3.10.8). Any segment of this "
        "connection still in the network has died by now, and a lost last ACK would have been repaired. "
        "(RFC 9293 takes the MSL as 2 minutes; Linux waits a fixed 60 s.)",
        "zh": "{who_zh}已在 TIME_WAIT 等满 2MSL（{msl2} 秒），进入 CLOSED（RFC 9293 3.10.8）。此时这条连接残留在网络中的报文段都已消失，"
        "丢失的最后一个 ACK 也已有机会补发。（RFC 9293 把 MSL 定为 2 分钟；Linux 固定等待 60 秒。）",
    },
    # ------------------------------------------------------------ CLOSED and LISTEN ---
    "closed.rcv_rst": {
        "en": "A RST reached {who}, which has no connection: it is discarded. A RST is never answered "
        "(RFC 9293 3.10.7.1).",
        "zh": "一个 RST 到达没有连接的{who_zh}：直接丢弃。RST 永远不会被回应（RFC 9293 3.10.7.1）。",
    },
    "closed.rcv_segment": {
        "en": "A segment reached {who}, which has no connection on this port (CLOSED). It answers with a RST "
        "made to be believable: Seq = the segment's Ack if it had one, else Seq=0 with Ack = its Seq + length "
        "(RFC 9293 3.10.7.1). This is \"connection refused\" on the wire.",
        "zh": "一个报文段到达{who_zh}，但这个端口上没有连接（CLOSED）。它回复一个让对方能够相信的 RST：如果来的报文段带 Ack，"
        "RST 的 Seq 就等于那个 Ack；否则 Seq=0，Ack = 对方的 Seq + 长度（RFC 9293 3.10.7.1）。这就是“连接被拒绝”在线路上的样子。",
    },
    "listen.rcv_rst": {
        "en": "A RST reached {who} while it listens. It cannot be about anything this listener sent, so it is "
        "ignored (RFC 9293 3.10.7.2).",
        "zh": "监听中的{who_zh}收到一个 RST。它不可能针对这个监听者发过的任何东西，所以被忽略（RFC 9293 3.10.7.2）。",
    },
    "listen.rcv_ack": {
        "en": "A segment with an ACK reached {who}, which only listens: it has sent nothing that could be "
        "acknowledged, so it answers with a RST whose Seq is that Ack (RFC 9293 3.10.7.2).",
        "zh": "只在监听的{who_zh}收到一个带 ACK 的报文段：它还没发过任何可被确认的东西，于是回复一个 Seq 等于该 Ack 的 RST"
        "（RFC 9293 3.10.7.2）。",
    },
    "listen.rcv_syn": {
        "en": "A SYN reached the listening {who}. It records the peer's ISN (IRS; RCV.NXT = IRS + 1), picks its "
        "own ISN and answers with a SYN-ACK, entering SYN_RCVD (RFC 9293 3.10.7.2). The connection is not open "
        "yet: {who} waits for the ACK of its SYN, the third segment. It cannot tell a fresh SYN from an old duplicate.",
        "zh": "监听中的{who_zh}收到 SYN。它记下对方的 ISN（IRS；RCV.NXT = IRS + 1），选定自己的 ISN，回复 SYN-ACK，进入 SYN_RCVD"
        "（RFC 9293 3.10.7.2）。连接还没有建立：{who_zh}要等对自己 SYN 的确认，也就是第三次握手。它分辨不出这是新的 SYN 还是旧的重复 SYN。",
    },
    "listen.rcv_syn_two_way": {
        "en": "NOT TCP. In this made-up two-way handshake {who} opens the connection the moment a SYN arrives: "
        "ESTABLISHED at once, SYN-ACK sent, and its application may start sending. It has no way to tell whether "
        "the SYN is current or an old duplicate (compare RFC 9293 3.5).",
        "zh": "这不是 TCP。在这个假想的两次握手里，{who_zh}一收到 SYN 就建立连接：立即进入 ESTABLISHED，发出 SYN-ACK，"
        "它的应用程序也可以开始发送数据。它无法判断这个 SYN 是当前的还是旧的重复 SYN（对照 RFC 9293 3.5）。",
    },
    "listen.rcv_other": {
        "en": "A segment with neither SYN, ACK nor RST reached the listening {who}: it cannot be valid and is "
        "dropped (RFC 9293 3.10.7.2).",
        "zh": "监听中的{who_zh}收到一个既没有 SYN、ACK 也没有 RST 的报文段：它不可能有效，被丢弃（RFC 9293 3.10.7.2）。",
    },
    # ------------------------------------------------------------------- SYN_SENT ---
    "syn_sent.rcv_bad_ack": {
        "en": "{Who} is in SYN_SENT, but this segment acknowledges a number it never sent (Ack={ack}, where its "
        "own SYN would be Ack=1): it answers an old duplicate connection. {Who} sends a RST with Seq = that Ack, "
        "so the peer drops the bogus connection, and keeps waiting for its own answer (RFC 9293 3.10.7.3, Figure 9).",
        "zh": "{who_zh}处于 SYN_SENT，但这个报文段确认的是它从没发过的序列号（Ack={ack}，而对它自己 SYN 的确认应是 Ack=1）："
        "这是在回应一条旧的重复连接。{who_zh}发送 Seq 等于该 Ack 的 RST，让对方丢弃这条虚假的连接，然后继续等待对自己 SYN 的回应"
        "（RFC 9293 3.10.7.3，图 9）。",
    },
    "syn_sent.rcv_rst_ignored": {
        "en": "A RST reached {who} in SYN_SENT, but it does not acknowledge {who}'s SYN, so it cannot be trusted "
        "and is dropped (RFC 9293 3.10.7.3).",
        "zh": "处于 SYN_SENT 的{who_zh}收到一个 RST，但它没有确认{who_zh}的 SYN，不可信，被丢弃（RFC 9293 3.10.7.3）。",
    },
    "syn_sent.rcv_rst": {
        "en": "A RST that acknowledges {who}'s SYN: nobody listens on that port. The connection is refused and "
        "{who} is CLOSED (RFC 9293 3.10.7.3).",
        "zh": "一个确认了{who_zh} SYN 的 RST：那个端口上没有人监听。连接被拒绝，{who_zh}进入 CLOSED（RFC 9293 3.10.7.3）。",
    },
    "syn_sent.rcv_syn_ack": {
        "en": "The SYN-ACK acknowledges {who}'s SYN (Ack = ISN + 1, shown as 1) and brings the peer's ISN. {Who} "
        "is ESTABLISHED and sends the third segment, an ACK of the peer's SYN (RFC 9293 3.10.7.3). From now on "
        "windows are scaled (RFC 7323).",
        "zh": "SYN-ACK 确认了{who_zh}的 SYN（Ack = ISN + 1，相对值显示为 1），并带来对方的 ISN。{who_zh}进入 ESTABLISHED，"
        "发出第三次握手：对对方 SYN 的 ACK（RFC 9293 3.10.7.3）。从此窗口值按扩大因子换算（RFC 7323）。",
    },
    "syn_sent.rcv_syn_ack_two_way": {
        "en": "NOT TCP. In the made-up two-way handshake {who} is ESTABLISHED on the SYN-ACK and sends no third "
        "segment, so the server never learns whether this connection was really wanted.",
        "zh": "这不是 TCP。在假想的两次握手里，{who_zh}收到 SYN-ACK 就进入 ESTABLISHED，不发第三个报文段，"
        "所以服务端永远无法知道客户端是否真的想要这条连接。",
    },
    "syn_sent.rcv_syn": {
        "en": "A SYN without an ACK reached {who} in SYN_SENT: the peer is connecting at the same moment "
        "(simultaneous open). {Who} records the peer's ISN, sends its own SYN again, now with an ACK of the peer's, "
        "and enters SYN_RCVD (RFC 9293 3.10.7.3, Figure 8).",
        "zh": "处于 SYN_SENT 的{who_zh}收到一个不带 ACK 的 SYN：对方在同一时刻也在发起连接（同时打开）。{who_zh}记下对方的 ISN，"
        "再次发送自己的 SYN，这次带上对对方 SYN 的确认，进入 SYN_RCVD（RFC 9293 3.10.7.3，图 8）。",
    },
    "syn_sent.rcv_other": {
        "en": "A segment with neither SYN nor RST reached {who} in SYN_SENT: it does not move the handshake "
        "forward and is dropped (RFC 9293 3.10.7.3).",
        "zh": "处于 SYN_SENT 的{who_zh}收到一个既没有 SYN 也没有 RST 的报文段：它对握手没有帮助，被丢弃（RFC 9293 3.10.7.3）。",
    },
    # ------------------------------------------------------- synchronized states ---
    "sync.rcv_unacceptable": {
        "en": "The segment lies outside {who}'s receive window: an old duplicate, or something already received. "
        "{Who} answers with an ACK stating what it really expects (Ack = RCV.NXT) and drops it (RFC 9293 3.10.7.4, "
        "first step).",
        "zh": "这个报文段落在{who_zh}的接收窗口之外：是旧的重复报文段，或者是已经收到过的内容。{who_zh}回复一个 ACK，"
        "说明自己真正期待的序列号（Ack = RCV.NXT），并丢弃它（RFC 9293 3.10.7.4 第一步）。",
    },
    "sync.rcv_unacceptable_rst": {
        "en": "A RST outside {who}'s receive window: it may be forged or stale, so it is silently dropped "
        "(RFC 9293 3.10.7.4; RFC 5961 3.2).",
        "zh": "一个落在{who_zh}接收窗口之外的 RST：它可能是伪造的或过期的，所以被悄悄丢弃（RFC 9293 3.10.7.4；RFC 5961 3.2）。",
    },
    "sync.rcv_throttled": {
        "en": "Another segment {who} cannot accept, less than 0.5 s after it last answered one: this time it stays "
        "silent. Answering every bad segment with an ACK could let two confused endpoints ACK each other forever "
        "(an ACK war); RFC 5961 section 7 asks for this throttling, and Linux uses 0.5 s (tcp_invalid_ratelimit).",
        "zh": "{who_zh}又收到一个无法接受的报文段，而距离它上次回应这类报文段还不到 0.5 秒：这次它不回应。"
        "如果对每个错误报文段都回一个 ACK，两个状态错乱的端点可能会无休止地互相发送 ACK（ACK 风暴）；"
        "RFC 5961 第 7 节要求做这种限速，Linux 的间隔是 0.5 秒（tcp_invalid_ratelimit）。",
    },
    "sync.rcv_rst_in_window": {
        "en": "A RST inside {who}'s window but not at exactly RCV.NXT: it might be forged, so {who} does not reset "
        "but sends a challenge ACK; a genuine peer will answer with a RST at the right number (RFC 9293 3.10.7.4; "
        "RFC 5961 3.2).",
        "zh": "一个落在{who_zh}窗口内、但序列号不正好等于 RCV.NXT 的 RST：它可能是伪造的，所以{who_zh}不重置连接，而是发送挑战 ACK；"
        "真正的对端会用正确序列号的 RST 来回应（RFC 9293 3.10.7.4；RFC 5961 3.2）。",
    },
    "syn_rcvd.rcv_rst_passive": {
        "en": "A RST at the expected number reached {who} in SYN_RCVD. The connection came from a passive open, so "
        "{who} just goes back to LISTEN; its application never heard of it (RFC 9293 3.10.7.4, second step). This "
        "is how the half-connection of an old duplicate SYN dies.",
        "zh": "处于 SYN_RCVD 的{who_zh}收到序列号正确的 RST。这条连接来自被动打开，所以{who_zh}直接回到 LISTEN，"
        "它的应用程序根本不知道有过这条连接（RFC 9293 3.10.7.4 第二步）。旧的重复 SYN 造成的半连接就是这样消失的。",
    },
    "syn_rcvd.rcv_rst": {
        "en": "A RST reached {who} in SYN_RCVD after its own active open: the connection is refused and {who} is "
        "CLOSED (RFC 9293 3.10.7.4).",
        "zh": "{who_zh}主动打开后处于 SYN_RCVD，收到 RST：连接被拒绝，{who_zh}进入 CLOSED（RFC 9293 3.10.7.4）。",
    },
    "sync.rcv_rst": {
        "en": "A RST at exactly the expected sequence number: {who} believes it, drops everything queued and is "
        "CLOSED at once, \"connection reset\" (RFC 9293 3.10.7.4, second step). No FIN, no TIME_WAIT.",
        "zh": "一个序列号正好等于期望值的 RST：{who_zh}相信它，丢弃所有排队的数据，立即进入 CLOSED，"
        "报告“连接被重置”（RFC 9293 3.10.7.4 第二步）。没有 FIN，也没有 TIME_WAIT。",
    },
    "closing.rcv_rst": {
        "en": "A RST reached {who} while it was closing: it deletes the TCB and is CLOSED (RFC 9293 3.10.7.4).",
        "zh": "{who_zh}在关闭过程中收到 RST：删除 TCB，进入 CLOSED（RFC 9293 3.10.7.4）。",
    },
    "syn_rcvd.rcv_syn_passive": {
        "en": "A new SYN inside the window reached {who} in SYN_RCVD: the handshake in progress cannot be right, so "
        "this passive connection goes back to LISTEN (RFC 9293 3.10.7.4, fourth step).",
        "zh": "处于 SYN_RCVD 的{who_zh}在窗口内又收到一个新的 SYN：正在进行的握手不可能是对的，这个被动打开的连接回到 LISTEN"
        "（RFC 9293 3.10.7.4 第四步）。",
    },
    "sync.rcv_syn": {
        "en": "A SYN reached {who} on a synchronized connection. Whatever it is (a stray, an attack, a restarted "
        "peer), {who} does not reset: it sends a challenge ACK with its real numbers and drops it (RFC 9293 "
        "3.10.7.4; RFC 5961 4.2).",
        "zh": "{who_zh}在已同步的连接上收到 SYN。不管它是什么（走失的报文段、攻击、重启的对端），{who_zh}都不重置连接："
        "它发送一个带真实序列号的挑战 ACK，并丢弃这个 SYN（RFC 9293 3.10.7.4；RFC 5961 4.2）。",
    },
    "sync.rcv_out_of_order": {
        "en": "This segment starts beyond what {who} expects (Seq={seq}; something before it is missing). {Who} "
        "holds it for later and at once sends a duplicate ACK naming the first missing byte, which tells the "
        "sender about the gap (RFC 9293 3.10.7.4; RFC 5681 4.2).",
        "zh": "这个报文段的起点超出了{who_zh}的期望（Seq={seq}；它前面有数据缺失）。{who_zh}先把它保存起来，"
        "并立即发送一个重复 ACK，指出第一个缺失的字节，让发送方知道中间有空缺（RFC 9293 3.10.7.4；RFC 5681 4.2）。",
    },
    "sync.rcv_no_ack": {
        "en": "A segment without the ACK bit on a synchronized connection is not valid and is dropped "
        "(RFC 9293 3.10.7.4, fifth step).",
        "zh": "已同步的连接上出现不带 ACK 标志的报文段，它无效，被丢弃（RFC 9293 3.10.7.4 第五步）。",
    },
    "syn_rcvd.rcv_syn_ack": {
        "en": "Simultaneous open: the peer's SYN-ACK acknowledges {who}'s SYN, so {who} is ESTABLISHED without "
        "sending anything more (RFC 9293 Figure 8). {Who} already has the SYN it carries; a strict sequence check "
        "would call the segment old (RFC 9293 Appendix A.2), but Linux accepts it, as the figure does.",
        "zh": "同时打开：对方的 SYN-ACK 确认了{who_zh}的 SYN，于是{who_zh}不需要再发送任何东西就进入 ESTABLISHED（RFC 9293 图 8）。"
        "它携带的 SYN {who_zh}早已收到；严格的序列号检查会认为这个报文段是旧的（RFC 9293 附录 A.2），但 Linux 和图中一样接受它。",
    },
    "syn_rcvd.rcv_ack": {
        "en": "The third segment: the peer acknowledges {who}'s SYN. Both sides now know both ISNs, and {who} is "
        "ESTABLISHED (RFC 9293 3.10.7.4, fifth step). Three segments were needed: each side's ISN must be sent "
        "and acknowledged, and this ACK proves the SYN was not an old duplicate.",
        "zh": "第三次握手：对方确认了{who_zh}的 SYN。现在双方都知道了彼此的 ISN，{who_zh}进入 ESTABLISHED（RFC 9293 3.10.7.4 第五步）。"
        "之所以需要三个报文段：双方的 ISN 都要发出并得到确认，而且这个 ACK 证明了那个 SYN 不是旧的重复报文段。",
    },
    "syn_rcvd.rcv_ack_data": {
        "en": "The third segment acknowledges {who}'s SYN and already carries {len} bytes of data: {who} is "
        "ESTABLISHED, takes the data and acknowledges it (RFC 9293 3.10.7.4). The first two segments of a "
        "handshake carry no data; the third may.",
        "zh": "第三次握手在确认{who_zh} SYN 的同时已经携带了 {len} 字节数据：{who_zh}进入 ESTABLISHED，收下数据并确认"
        "（RFC 9293 3.10.7.4）。握手的前两个报文段不携带数据，第三个可以。",
    },
    "syn_rcvd.rcv_ack_fin": {
        "en": "The segment that acknowledges {who}'s SYN also carries the peer's FIN: {who} is ESTABLISHED and at "
        "once in CLOSE_WAIT (RFC 9293 3.10.7.4).",
        "zh": "确认{who_zh} SYN 的报文段同时带着对方的 FIN：{who_zh}进入 ESTABLISHED，随即进入 CLOSE_WAIT（RFC 9293 3.10.7.4）。",
    },
    "syn_rcvd.rcv_bad_ack": {
        "en": "{Who} is in SYN_RCVD, but the segment acknowledges a number it never sent: {who} answers with a RST "
        "whose Seq is that Ack (RFC 9293 3.10.7.4, fifth step).",
        "zh": "{who_zh}处于 SYN_RCVD，但这个报文段确认的是它从没发过的序列号：{who_zh}回复一个 Seq 等于该 Ack 的 RST"
        "（RFC 9293 3.10.7.4 第五步）。",
    },
    "sync.rcv_ack_unacceptable": {
        "en": "The segment acknowledges data {who} never sent (Ack beyond SND.NXT, or far behind it): {who} sends "
        "an ACK with its real numbers and drops it (RFC 9293 3.10.7.4; RFC 5961 5.2).",
        "zh": "这个报文段确认了{who_zh}从没发过的数据（Ack 超过 SND.NXT，或者落后太多）：{who_zh}发送一个带真实序列号的 ACK，"
        "并丢弃它（RFC 9293 3.10.7.4；RFC 5961 5.2）。",
    },
    "sync.rcv_ack": {
        "en": "An acknowledgment: {who} moves SND.UNA up to Ack={ack}, forgets the segments it covers and updates "
        "its send window (RFC 9293 3.10.7.4, fifth step). A pure ACK is never acknowledged itself.",
        "zh": "一个确认：{who_zh}把 SND.UNA 推进到 Ack={ack}，不再保留已被确认的报文段，并更新发送窗口"
        "（RFC 9293 3.10.7.4 第五步）。纯 ACK 本身不需要再被确认。",
    },
    "sync.rcv_data": {
        "en": "{len} bytes arrive in order: {who} advances RCV.NXT past them and acknowledges them at once "
        "(RFC 9293 3.10.7.4, seventh step). Linux would delay this ACK a little, hoping to piggyback it on data; "
        "the lab acknowledges every segment at once.",
        "zh": "{len} 字节按顺序到达：{who_zh}把 RCV.NXT 推进到它们之后，并立即确认（RFC 9293 3.10.7.4 第七步）。"
        "Linux 会把这个 ACK 稍微延迟一下，希望和数据一起发出；本实验对每个报文段都立即确认。",
    },
    "established.rcv_fin": {
        "en": "The peer's FIN: it has nothing more to send. {Who} acknowledges it (a FIN counts as one byte) and "
        "enters CLOSE_WAIT, waiting for its own application to close; until then it may still send data "
        "(RFC 9293 3.10.7.4, eighth step). This ACK and {who}'s own FIN come separately: four segments to close.",
        "zh": "对方的 FIN：对方没有数据要发了。{who_zh}确认它（FIN 占一个序列号），进入 CLOSE_WAIT，等待自己的应用程序关闭；"
        "在此之前它仍然可以发送数据（RFC 9293 3.10.7.4 第八步）。这个 ACK 和{who_zh}自己的 FIN 是分开发送的：所以关闭需要四个报文段。",
    },
    "established.rcv_fin_app_closes": {
        "en": "The peer's FIN arrives and {who}'s application, with nothing left to send, closes at once. So the "
        "ACK of the peer's FIN and {who}'s own FIN leave together in one [FIN, ACK] segment: CLOSE_WAIT lasts an "
        "instant and {who} is in LAST_ACK (RFC 9293 3.10.7.4, 3.10.4). A three-segment close.",
        "zh": "对方的 FIN 到达，{who_zh}的应用程序没有数据要发，立即关闭。于是对对方 FIN 的确认和{who_zh}自己的 FIN 合并成一个 [FIN, ACK] "
        "报文段发出：CLOSE_WAIT 只持续一瞬间，{who_zh}进入 LAST_ACK（RFC 9293 3.10.7.4、3.10.4）。三个报文段完成关闭。",
    },
    "fin_wait_1.rcv_ack_of_fin": {
        "en": "The peer acknowledged {who}'s FIN: {who}'s direction is closed. It waits in FIN_WAIT_2 for the "
        "peer's FIN, and meanwhile the peer may still send data (RFC 9293 3.10.7.4).",
        "zh": "对方确认了{who_zh}的 FIN：{who_zh}这个方向已经关闭。它在 FIN_WAIT_2 等待对方的 FIN，在此期间对方仍可以发送数据"
        "（RFC 9293 3.10.7.4）。",
    },
    "fin_wait_1.rcv_fin": {
        "en": "The peer's FIN reached {who} before the ACK of {who}'s own FIN: both closed at the same time. {Who} "
        "acknowledges it and enters CLOSING, still waiting for its own FIN to be acknowledged (RFC 9293 "
        "3.10.7.4, eighth step).",
        "zh": "对方的 FIN 比对{who_zh}自己 FIN 的确认先到：双方同时关闭。{who_zh}确认它，进入 CLOSING，继续等待自己的 FIN 被确认"
        "（RFC 9293 3.10.7.4 第八步）。",
    },
    "fin_wait_1.rcv_fin_ack_of_fin": {
        "en": "One segment acknowledges {who}'s FIN and carries the peer's FIN: {who} skips FIN_WAIT_2, "
        "acknowledges the FIN and enters TIME_WAIT, starting the 2MSL timer (RFC 9293 3.10.7.4).",
        "zh": "同一个报文段既确认了{who_zh}的 FIN，又带来了对方的 FIN：{who_zh}跳过 FIN_WAIT_2，确认这个 FIN，进入 TIME_WAIT，"
        "启动 2MSL 定时器（RFC 9293 3.10.7.4）。",
    },
    "fin_wait_2.rcv_fin": {
        "en": "The peer's FIN: both directions are closed. {Who} acknowledges it and enters TIME_WAIT for 2MSL "
        "(RFC 9293 3.10.7.4). It waits in case this ACK is lost and the FIN comes again, and so that old segments "
        "of this connection die out before the same ports are used again.",
        "zh": "对方的 FIN：两个方向都关闭了。{who_zh}确认它，进入 TIME_WAIT，等待 2MSL（RFC 9293 3.10.7.4）。"
        "等待是为了防止这个 ACK 丢失后对方重发 FIN，也让这条连接的旧报文段在同样的端口再次使用之前全部消失。",
    },
    "closing.rcv_ack_of_fin": {
        "en": "{Who}'s FIN is acknowledged at last: both FINs are acknowledged, and {who} enters TIME_WAIT for "
        "2MSL (RFC 9293 3.10.7.4).",
        "zh": "{who_zh}的 FIN 终于得到确认：双方的 FIN 都已被确认，{who_zh}进入 TIME_WAIT，等待 2MSL（RFC 9293 3.10.7.4）。",
    },
    "last_ack.rcv_ack_of_fin": {
        "en": "The ACK of {who}'s FIN: both directions are closed and acknowledged. {Who} deletes the TCB and is "
        "CLOSED at once; the side that closes last has no TIME_WAIT (RFC 9293 3.10.7.4).",
        "zh": "对{who_zh} FIN 的确认到达：两个方向都已关闭并被确认。{who_zh}删除 TCB，立即进入 CLOSED；"
        "后关闭的一方没有 TIME_WAIT（RFC 9293 3.10.7.4）。",
    },
    "closing.rcv_ack": {
        "en": "This segment does not acknowledge {who}'s FIN (at most it acknowledges data sent before it), and "
        "{who} expects nothing else in this state: SND.UNA moves up if it can, and {who} keeps waiting "
        "(RFC 9293 3.10.7.4).",
        "zh": "这个报文段没有确认{who_zh}的 FIN（最多确认了 FIN 之前的数据），而{who_zh}在这个状态下不期待别的东西："
        "能推进 SND.UNA 就推进，然后继续等待（RFC 9293 3.10.7.4）。",
    },
    "time_wait.rcv_fin_again": {
        "en": "The peer sent its FIN again: {who}'s last ACK must have been lost. Since {who} is still in TIME_WAIT "
        "it can acknowledge the FIN again, and it restarts the 2MSL timer (RFC 9293 3.10.7.4). Without TIME_WAIT "
        "this FIN would have met a closed port and been answered with a RST.",
        "zh": "对方再次发来 FIN：{who_zh}的最后一个 ACK 一定丢了。因为{who_zh}还在 TIME_WAIT，它可以再次确认这个 FIN，"
        "并重新开始 2MSL 计时（RFC 9293 3.10.7.4）。如果没有 TIME_WAIT，这个 FIN 会遇到一个关闭的端口，只能得到 RST。",
    },
    # ------------------------------------------------------------ segments leaving ---
    "send.syn": {
        "en": "{Who} sends its SYN: Seq is its ISN (0 in relative numbers), and the options offer its MSS and "
        "window scale. A SYN carries no data but takes one sequence number.",
        "zh": "{who_zh}发送 SYN：Seq 是它的 ISN（相对值为 0），选项里给出 MSS 和窗口扩大因子。SYN 不携带数据，但占用一个序列号。",
    },
    "send.syn_ack": {
        "en": "{Who} sends a SYN-ACK: its own ISN (Seq=0, relative) and Ack={ack}, the peer's ISN + 1: \"I got "
        "your SYN, here is mine\".",
        "zh": "{who_zh}发送 SYN-ACK：带着自己的 ISN（相对 Seq=0）和 Ack={ack}，即对方 ISN + 1：“收到你的 SYN，这是我的”。",
    },
    "send.ack_syn": {
        "en": "{Who} sends the third segment of the handshake: an ACK of the peer's SYN (Ack={ack}).",
        "zh": "{who_zh}发送第三次握手：对对方 SYN 的确认（Ack={ack}）。",
    },
    "send.ack_data": {
        "en": "{Who} acknowledges: Ack={ack} is the next byte it expects.",
        "zh": "{who_zh}发送确认：Ack={ack} 是它期待的下一个字节。",
    },
    "send.ack_fin": {
        "en": "{Who} acknowledges the peer's FIN: Ack={ack} counts the FIN as one byte.",
        "zh": "{who_zh}确认对方的 FIN：Ack={ack}，FIN 按一个字节计算。",
    },
    "send.ack_fin_again": {
        "en": "{Who} acknowledges the repeated FIN once more (Ack={ack}), from TIME_WAIT.",
        "zh": "{who_zh}在 TIME_WAIT 中再次确认重发的 FIN（Ack={ack}）。",
    },
    "send.data": {
        "en": "{Who} sends {len} bytes at Seq={seq}; the segment also acknowledges up to Ack={ack}, as every "
        "segment does once the connection is open. PSH, when set, marks the end of what the application wrote.",
        "zh": "{who_zh}从 Seq={seq} 开始发送 {len} 字节；连接建立后每个报文段都带确认，这一段确认到 Ack={ack}。"
        "如果带 PSH，表示应用程序这次写入的数据到此为止。",
    },
    "send.data_fin": {
        "en": "{Who} sends its last {len} bytes with the FIN on the same segment (Seq={seq}).",
        "zh": "{who_zh}把最后 {len} 字节和 FIN 放在同一个报文段里发出（Seq={seq}）。",
    },
    "send.fin": {
        "en": "{Who} sends its FIN at Seq={seq}: it will send no more data. The FIN takes one sequence number and "
        "must be acknowledged like data.",
        "zh": "{who_zh}在 Seq={seq} 发送 FIN：它不会再发送数据了。FIN 占一个序列号，也要像数据一样被确认。",
    },
    "send.rst_closed": {
        "en": "{Who} has no connection for that segment and answers with a RST (RFC 9293 3.10.7.1).",
        "zh": "{who_zh}没有与那个报文段对应的连接，回复 RST（RFC 9293 3.10.7.1）。",
    },
    "send.rst_bad_ack": {
        "en": "{Who} sends a RST whose Seq is the unexpected Ack it received: the one number the other end will "
        "accept, so its bogus connection is reset.",
        "zh": "{who_zh}发送 RST，Seq 等于它收到的那个异常 Ack：这是对方唯一会接受的序列号，于是对方那条虚假的连接被重置。",
    },
    "send.rst_abort": {
        "en": "{Who} sends a RST with Seq = SND.NXT: the connection is aborted.",
        "zh": "{who_zh}发送 Seq = SND.NXT 的 RST：连接被中止。",
    },
    "send.ack_old": {
        "en": "{Who} sends an ACK with its real numbers (Seq={seq}, Ack={ack}) in answer to a segment it could not "
        "accept.",
        "zh": "{who_zh}用一个带真实序列号的 ACK（Seq={seq}，Ack={ack}）回应一个它无法接受的报文段。",
    },
    "send.challenge_ack": {
        "en": "{Who} sends a challenge ACK (Seq={seq}, Ack={ack}): a genuine peer that really meant to reset will "
        "answer with a RST at exactly Seq={ack} (RFC 5961).",
        "zh": "{who_zh}发送挑战 ACK（Seq={seq}，Ack={ack}）：如果对端真的想重置连接，它会用 Seq 正好等于 {ack} 的 RST 回应（RFC 5961）。",
    },
    "send.dup_ack": {
        "en": "{Who} sends a duplicate ACK (Ack={ack}, the first byte it is missing), reporting the gap at once.",
        "zh": "{who_zh}发送重复 ACK（Ack={ack}，即它缺少的第一个字节），立即报告数据空缺。",
    },
    "send.retransmit": {
        "en": "{Who} sends the segment again because its retransmission timer expired; Wireshark marks it "
        "[TCP Retransmission]. Next RTO: {rto} s.",
        "zh": "{who_zh}的重传定时器超时，重发这个报文段；Wireshark 会把它标为 [TCP Retransmission]。下一次 RTO：{rto} 秒。",
    },
    # -------------------------------------------------------------- wire and faults ---
    "fault.armed.drop": {
        "en": "Fault armed: the wire will lose the next segment {who} sends.",
        "zh": "已设置故障：网络会丢掉{who_zh}发出的下一个报文段。",
    },
    "fault.armed.duplicate": {
        "en": "Fault armed: the next segment {who} sends will arrive twice.",
        "zh": "已设置故障：{who_zh}发出的下一个报文段会到达两次。",
    },
    "fault.armed.delay": {
        "en": "Fault armed: the next segment {who} sends will be held back until the one after it has arrived.",
        "zh": "已设置故障：{who_zh}发出的下一个报文段会被耽搁，直到它后面的那个报文段先到达。",
    },
    "fault.drop": {
        "en": "The wire will lose this segment from {who} (row {row}): it left its sender but will never arrive.",
        "zh": "网络会丢掉{who_zh}发出的这个报文段（第 {row} 行）：它已经发出，但永远不会到达。",
    },
    "fault.duplicate": {
        "en": "The wire duplicates this segment from {who}: a second copy arrives just after the first.",
        "zh": "网络复制了{who_zh}发出的这个报文段：第二份紧跟在第一份之后到达。",
    },
    "fault.delay": {
        "en": "The wire holds back this segment from {who}: the next segment {who} sends will overtake it.",
        "zh": "网络耽搁了{who_zh}发出的这个报文段：{who_zh}发出的下一个报文段会超过它先到达。",
    },
    "fault.old_syn": {
        "en": "An old duplicate SYN from an earlier connection between the same ports appears on the wire: the "
        "client's address and port, but a sequence number far from the client's ISN (Seq={seq} relative to it). "
        "The receiver cannot tell it is old (RFC 9293 3.5, Figure 9).",
        "zh": "网络上出现了同一对端口之间一条早已结束的连接留下的旧 SYN：源地址和端口都是客户端的，但序列号离客户端的 ISN 很远"
        "（相对值 Seq={seq}）。接收方无法分辨它是旧的（RFC 9293 3.5，图 9）。",
    },
    "wire.drop": {
        "en": "The segment is lost: it would have arrived at {who} now. Its sender notices only when its "
        "retransmission timer expires, if it waits for an ACK at all.",
        "zh": "报文段丢失了：本该在此时到达{who_zh}。发送方只有在重传定时器超时时才会发现，前提是它在等待确认。",
    },
}
