"""Texts of the teaching tools (EN + ZH): the quiz's prompts and feedback (core/quiz.py) and
the notes of `tcp-lab compare` (core/compare.py), which say where a real stack did what
the RFC 9293 model would not, and why.

Placeholders: {who}/{Who}/{who_zh} the side a text is about, {peer}... its peer; the
other names are listed beside each group.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # ---- quiz: what is about to happen ({state}: the side's state now) ---------------
    "quiz.prompt.app": {
        "en": "Next: the {who}'s application calls {call}() while the {who} is in {state}.",
        "zh": "下一步：{who_zh}处于 {state}，它的应用程序调用 {call}()。",
    },
    "quiz.prompt.timer": {
        "en": "Next: the {who}'s {timer} timer fires while the {who} is in {state}.",
        "zh": "下一步：{who_zh}处于 {state}，它的 {timer} 定时器到期。",
    },
    "quiz.prompt.deliver": {
        "en": "Next: the {peer}'s [{flags}] arrives at the {who}, which is in {state}.",
        "zh": "下一步：{peer_zh}发出的 [{flags}] 到达{who_zh}，{who_zh}此时处于 {state}。",
    },
    "quiz.prompt.send": {
        "en": "Next: the {who} (in {state}) puts a segment on the wire.",
        "zh": "下一步：{who_zh}（处于 {state}）发出一个报文段。",
    },
    "quiz.prompt.segment": {
        "en": "Next: the {who} (in {state}) sends the next captured segment to the {peer}.",
        "zh": "下一步：{who_zh}（处于 {state}）向{peer_zh}发送抓包中的下一个报文段。",
    },
    "quiz.prompt.drop": {
        "en": "The wire loses the {who}'s [{flags}]: nothing to predict, watch what follows.",
        "zh": "网络丢失了{who_zh}的 [{flags}]：这一步无需预测，看看接下来会怎样。",
    },
    "quiz.prompt.other": {
        "en": "Watch this step ({event}): nothing to predict.",
        "zh": "观察这一步（{event}）：无需预测。",
    },
    # ---- quiz: the questions -------------------------------------------------------
    "quiz.q.state": {
        "en": "What state is the {who} in after it?",
        "zh": "这一步之后，{who_zh}处于什么状态？",
    },
    "quiz.q.flags": {
        "en": "Which control bits does the {who}'s segment carry?",
        "zh": "{who_zh}的这个报文段带有哪些控制位？",
    },
    "quiz.q.ack": {
        "en": "What acknowledgment number does it carry (relative, as Wireshark shows it)?",
        "zh": "它的确认号是多少（相对值，和 Wireshark 显示的一样）？",
    },
    # ---- quiz: feedback and the score ------------------------------------------------
    "quiz.right": {"en": "Right: {answer}.", "zh": "正确：{answer}。"},
    "quiz.wrong": {"en": "Not quite: you chose {chosen}, the answer is {answer}.", "zh": "不对：你选了 {chosen}，正确答案是 {answer}。"},
    "quiz.keys": {
        "en": "Press 1-{n} to answer · q quits · l 中文",
        "zh": "按 1-{n} 作答 · q 退出 · l English",
    },
    "quiz.continue": {
        "en": "Press n, space or Enter for the next step · q quits",
        "zh": "按 n、空格或回车进入下一步 · q 退出",
    },
    "quiz.watch": {
        "en": "Nothing to predict here. Press n, space or Enter to go on.",
        "zh": "这一步无需预测。按 n、空格或回车继续。",
    },
    "quiz.score": {
        "en": "Score: {right} of {asked} ({percent}%). States {state_right}/{state_asked} · control bits {flags_right}/{flags_asked} · ack numbers {ack_right}/{ack_asked}.",
        "zh": "得分：{asked} 题答对 {right} 题（{percent}%）。状态 {state_right}/{state_asked} · 控制位 {flags_right}/{flags_asked} · 确认号 {ack_right}/{ack_asked}。",
    },
    "quiz.done": {
        "en": "The quiz is over: every step of the scenario has happened.",
        "zh": "测验结束：场景的每一步都已经发生。",
    },
    "quiz.title": {"en": "Quiz: {title}", "zh": "测验：{title}"},
    "quiz.progress": {"en": "step {step} · {right}/{asked} right", "zh": "第 {step} 步 · 答对 {right}/{asked}"},
    "quiz.states_now": {"en": "Now: client {client}, server {server}", "zh": "现在：客户端 {client}，服务端 {server}"},
    "quiz.why": {"en": "Why", "zh": "原因"},
}

TEXTS.update(
    {
        # ---- compare: a real stack beside the RFC 9293 model -------------------------
        "cmp.fin_with_data": {
            "en": "The {who}'s FIN rides on its last {len} bytes of data. RFC 9293 3.10.4 allows it (the FIN goes after any queued data, in the same segment if it fits); the lab's model sends the FIN in a segment of its own.",
            "zh": "{who_zh}的 FIN 和它最后的 {len} 字节数据在同一个报文段里。RFC 9293 3.10.4 允许这样做（FIN 排在已排队的数据之后，能放下就放在同一段）；实验室的模型把 FIN 单独放在一个报文段里。",
        },
        "cmp.psh_fin": {
            "en": "PSH is set on the {who}'s FIN ([{flags}]). The model sets PSH only on the last segment of a send() (RFC 9293 3.9.1); Linux also sets it on a FIN that follows data the receiver has not pushed yet.",
            "zh": "{who_zh}的 FIN 上带有 PSH（[{flags}]）。模型只在一次 send() 的最后一个数据段上置 PSH（RFC 9293 3.9.1）；Linux 在紧跟未推送数据的 FIN 上也会置 PSH。",
        },
        "cmp.fin_with_ack": {
            "en": "The {who}'s FIN also acknowledges the {peer}'s FIN: three segments close the connection instead of four. The {who}'s application closed before its ACK left (Linux delays that ACK, so the FIN catches up with it). The lab's model acknowledges a FIN at once, in its own segment, unless the application closes at once (scenario merged-fin-ack).",
            "zh": "{who_zh}的 FIN 同时确认了{peer_zh}的 FIN：用三个报文段而不是四个关闭连接。{who_zh}的应用程序在 ACK 发出之前就关闭了（Linux 会延迟这个 ACK，于是 FIN 赶上了它）。实验室的模型收到 FIN 会立即单独确认，除非应用程序立即关闭（场景 merged-fin-ack）。",
        },
        "cmp.delayed_ack": {
            "en": "A delayed ACK: the {who} acknowledged {ms} ms after the segment, {delay_ms} ms later than it answered in the handshake. RFC 9293 3.8.6.3 lets a receiver wait (less than 0.5 s, and ACK at least every second full segment); Linux waits at least 40 ms (TCP_DELACK_MIN). The lab's model acknowledges at once.",
            "zh": "延迟确认：{who_zh}在报文段到达 {ms} ms 后才确认，比它在握手时的回应慢了 {delay_ms} ms。RFC 9293 3.8.6.3 允许接收方等待（少于 0.5 秒，且每两个满长度报文段至少确认一次）；Linux 至少等待 40 ms（TCP_DELACK_MIN）。实验室的模型会立即确认。",
        },
        "cmp.rto_linux": {
            "en": "The {who} resent its [{flags}] {ms} ms after the first copy (try {tries}). RFC 6298 2.4 never lets the RTO go below 1 s, and the lab's model waits 1 s; Linux's minimum RTO is 200 ms (TCP_RTO_MIN), so on a fast path it resends after about 200 ms.",
            "zh": "{who_zh}在第一次发送 {ms} ms 后重传了 [{flags}]（第 {tries} 次）。RFC 6298 2.4 规定 RTO 不得小于 1 秒，实验室的模型等待 1 秒；Linux 的最小 RTO 是 200 ms（TCP_RTO_MIN），所以在快速的路径上大约 200 ms 后就重传。",
        },
        "cmp.rto_initial": {
            "en": "The {who} resent its [{flags}] {ms} ms after the first copy (try {tries}): the initial RTO of 1 s (RFC 6298 2.1; Linux's TCP_TIMEOUT_INIT), as in the lab's model, which then doubles it (RFC 6298 5.5).",
            "zh": "{who_zh}在第一次发送 {ms} ms 后重传了 [{flags}]（第 {tries} 次）：这是 1 秒的初始 RTO（RFC 6298 2.1；Linux 的 TCP_TIMEOUT_INIT），和实验室的模型一样，之后 RTO 加倍（RFC 6298 5.5）。",
        },
        "cmp.challenge_ack": {
            "en": "A challenge ACK: the {who} answered a {why} on its open connection with a bare ACK (its SND.NXT and RCV.NXT) instead of resetting, as RFC 9293 3.10.7.4 and RFC 5961 ask, so a blind attacker cannot reset the connection. Linux rate-limits these ACKs (tcp_challenge_ack_limit); an old RFC 793 stack would have reset.",
            "zh": "挑战 ACK：{who_zh}在已建立的连接上收到 {why} 后，回了一个纯 ACK（带着它的 SND.NXT 和 RCV.NXT），而不是复位连接，这是 RFC 9293 3.10.7.4 和 RFC 5961 的要求，使盲目攻击者无法复位连接。Linux 会限制这类 ACK 的速率（tcp_challenge_ack_limit）；按旧的 RFC 793 实现会直接复位。",
        },
        "cmp.fin_wait_2_timeout": {
            "en": "The {who} answers the {peer}'s FIN with RST: its connection was already gone. Its application had closed and the {who} sat in FIN_WAIT_2 for {seconds} s; Linux drops such an orphaned FIN_WAIT_2 after tcp_fin_timeout (60 s by default). RFC 9293 has no such timer: in the model the {who} would wait in FIN_WAIT_2, then ACK the FIN and enter TIME_WAIT.",
            "zh": "{who_zh}用 RST 回应{peer_zh}的 FIN：它的连接已经不存在了。它的应用程序早已关闭，{who_zh}在 FIN_WAIT_2 等了 {seconds} 秒；Linux 会在 tcp_fin_timeout（默认 60 秒）后丢弃这种无主的 FIN_WAIT_2 连接。RFC 9293 没有这样的定时器：在模型中{who_zh}会一直在 FIN_WAIT_2 等待，然后确认 FIN 并进入 TIME_WAIT。",
        },
        "cmp.time_wait_unseen": {
            "en": "The capture ends {seconds} s after the {who} entered TIME_WAIT, so it cannot show TIME_WAIT's end. RFC 9293 3.4.2 asks for 2MSL with MSL = 2 minutes (4 minutes); Linux waits 60 s (TCP_TIMEWAIT_LEN), and so does the lab (MSL = 30 s).",
            "zh": "抓包在{who_zh}进入 TIME_WAIT 之后 {seconds} 秒就结束了，看不到 TIME_WAIT 的结束。RFC 9293 3.4.2 要求等待 2MSL，MSL 为 2 分钟（即 4 分钟）；Linux 等待 60 秒（TCP_TIMEWAIT_LEN），实验室也一样（MSL = 30 秒）。",
        },
        "cmp.time_wait_short": {
            "en": "The same four-tuple was used again {seconds} s after the {who} entered TIME_WAIT, far less than 2MSL (RFC 9293 3.4.2: 4 minutes; the lab and Linux: 60 s). Linux accepts a new SYN in TIME_WAIT when its sequence number or timestamp is newer (RFC 6191), ending TIME_WAIT early.",
            "zh": "在{who_zh}进入 TIME_WAIT 之后 {seconds} 秒，同一个四元组又被使用了，远少于 2MSL（RFC 9293 3.4.2：4 分钟；实验室和 Linux：60 秒）。当新 SYN 的序号或时间戳更新时，Linux 会在 TIME_WAIT 中接受它（RFC 6191），提前结束 TIME_WAIT。",
        },
        "cmp.timestamps": {
            "en": "The {sides} put TCP timestamps (TSval/TSecr, RFC 7323) on every segment: 12 more header bytes, used to measure the round trip and to reject old duplicates (PAWS). The lab's model sends no timestamps.",
            "zh": "{sides_zh}在每个报文段上都带有 TCP 时间戳（TSval/TSecr，RFC 7323）：多 12 个首部字节，用来测量往返时间并拒绝旧的重复报文段（PAWS）。实验室的模型不发送时间戳。",
        },
        "cmp.sack_blocks": {
            "en": "The {sides} sent SACK blocks (RFC 2018): they tell the sender which later bytes arrived, so only the gap is resent. The lab's model offers SACK_PERM but never sends blocks.",
            "zh": "{sides_zh}发送了 SACK 块（RFC 2018）：告诉发送方后面哪些字节已经到达，只需重传缺口。实验室的模型会提供 SACK_PERM，但从不发送 SACK 块。",
        },
        "cmp.analysis": {
            "en": "Wireshark marks this segment [{label}]: the {who} sent it where the model sends nothing of the kind.",
            "zh": "Wireshark 把这个报文段标为 [{label}]：{who_zh}在这里发送了模型不会发送的报文段。",
        },
        "cmp.extra_real": {
            "en": "The {who} sent a {kind} segment here that scenario {scenario} has no counterpart for.",
            "zh": "{who_zh}在这里发送了一个 {kind} 报文段，场景 {scenario} 中没有对应的报文段。",
        },
        "cmp.missing_real": {
            "en": "The model's {who} sends a {kind} segment here (scenario {scenario}); the real {who} did not.",
            "zh": "模型中的{who_zh}在这里发送一个 {kind} 报文段（场景 {scenario}）；真实的{who_zh}没有发送。",
        },
        "cmp.app_data": {
            "en": "Data, not TCP ({kind}): the real conversation and scenario {scenario} carry different application data, so their data segments and the ACKs of them differ. How much an application writes, and when, is its own choice.",
            "zh": "这是数据的差别，不是 TCP 的（{kind}）：真实的连接和场景 {scenario} 传送的应用数据不同，所以数据报文段及其确认也不同。应用程序写多少、何时写，由它自己决定。",
        },
        "cmp.kind_differs": {
            "en": "The real {who} sent a {kind} segment where the model sends {model_kind}.",
            "zh": "真实的{who_zh}发送的是 {kind} 报文段，模型在这里发送的是 {model_kind}。",
        },
        "cmp.state_differs": {
            "en": "After this step the real {who} is in {real}, the model's in {model}.",
            "zh": "这一步之后，真实的{who_zh}处于 {real}，模型中的处于 {model}。",
        },
        "cmp.closest": {
            "en": "Closest built-in scenario: {scenario} ({title}); {marks} marks.",
            "zh": "最接近的内置场景：{scenario}（{title}）；共 {marks} 处标记。",
        },
    }
)
