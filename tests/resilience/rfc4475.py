"""Reconstructions of the 49 SIP torture messages of RFC 4475 (sections 3.1.1.1 to 3.4.1).

NOT the RFC's verbatim messages: the RFC text is not on this machine, Debian 12 ships no RFC
package (`apt-cache search rfc`: no doc-rfc*), and the only copies reachable here are third-party
transcriptions that may not be copied. Each message below was written for this suite from the
RFC's section titles and descriptions: same name (the RFC's file name), same section, same
defect class (valid but tortuous, or invalid in the way the section describes), aimed at the
phone on loopback. `{P}` is the phone's SIP port, `{M}` the sender's port; `{CL}` is replaced by
the body's real length (valid messages); `\n` becomes CRLF unless `raw` keeps bare line feeds.
"""

# ruff: noqa: E501 - data: SIP messages, one header per line as sent

from __future__ import annotations

from dataclasses import dataclass

SDP = (
    "v=0\no=- 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 40000 RTP/AVP 0\n"
)


@dataclass(frozen=True)
class Torture:
    name: str  # the RFC's short name (its .dat file)
    section: str
    valid: bool  # the RFC says a receiver must accept it as well formed
    text: str
    raw: bool = False

    def render(self, phone_port: int, my_port: int) -> bytes:
        text = self.text if self.raw else self.text.replace("\n", "\r\n")
        text = text.replace("{P}", str(phone_port)).replace("{M}", str(my_port))
        if "{CL}" in text:
            sep = "\n\n" if self.raw else "\r\n\r\n"
            body = text.split(sep, 1)[1] if sep in text else ""
            text = text.replace("{CL}", str(len(body.encode())))
        return text.encode("utf-8", "surrogateescape")


V = "Via: SIP/2.0/UDP 127.0.0.1:{M};rport;branch=z9hG4bK"
C = "Contact: <sip:caller@127.0.0.1:{M}>"

CASES: list[Torture] = [
    # ------------------------------------------------------------------ 3.1.1 valid messages
    Torture("wsinv", "3.1.1.1", True,
        "INVITE sip:1001@127.0.0.1:{P};oddparam SIP/2.0\n"
        "tO  :\n <sip:1001@lab.test>  ;  tag  =  77aa1\n"
        "FROM:   \"Tortuous \\\\ \\\" caller\"    <sip:caller@lab.test>\n   ;\n tag = 8bb2\n"
        "mAx-FoRwArDs: 0070\nCall-ID: wsinv.7f3c@127.0.0.1\nContent-Length  :  {CL}\n"
        "cSeQ: 0012\n   INVITE\n"
        "Via :  SIP /  2.0\n / UDP\n    127.0.0.1:{M};rport;branch=z9hG4bKws1\n"
        "s:\nStrangeNewHeader:   first part\n second part\nWeirdValue: ;,;;,,;\n"
        "c: application/sdp\n"
        "m: \"Q \\\"uoted\\\"\" <sip:caller@127.0.0.1:{M}> ; np = nv ;\n  flag ; q = 0.5\n\n" + SDP),
    Torture("intmeth", "3.1.1.2", True,
        "!odd-Method_0987*+`.%ok'~ sip:1001@127.0.0.1:{P};x=(weird!)&still+ok$ SIP/2.0\n"
        f"{V}-.!%66*_+`'~\n"
        "To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1001@lab.test>\n"
        "From: tok1~` tok2'+_ tok3*%!.- <sip:caller@lab.test>;p''~+*_!.-%=\"\u0440\u0430\u0431\u043e\u0442\u0430\";tag=_t~1'+`*%!-.\n"
        "Call-ID: intmeth.w%ZK-!.*_+'@w`~)(><:\\/\"][?}{\n"
        "CSeq: 139 !odd-Method_0987*+`.%ok'~\nMax-Forwards: 255\n"
        "ext-Header-!.%*+_`'~:\ufeff\u5927\u505c\u96fb\nContent-Length: 0\n\n"),
    Torture("esc01", "3.1.1.3", True,
        "INVITE sip:sips%3A1001%40lab.test@127.0.0.1:{P} SIP/2.0\n"
        "To: sip:%31%30%30%31@lab.test\nFrom: <sip:I%20have%20spaces@lab.test>;tag=e1\n"
        "Max-Forwards: 70\ni: esc01.1a2b\nCSeq: 1 INVITE\n"
        f"{V}e1\nc: application/sdp\n"
        "Contact:\n  <sip:cal%6Cer@127.0.0.1:{M};%6C%72;n%61me=v%61lue%25%34%31>\nContent-Length: {CL}\n\n" + SDP),
    Torture("escnull", "3.1.1.4", True,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:nul-%00-nul@lab.test\n"
        "From: sip:nul-%00-nul@lab.test;tag=n0\nMax-Forwards: 70\nCall-ID: escnull.2b3c\n"
        f"CSeq: 9 REGISTER\n{V}n0\n"
        "Contact: <sip:%00@127.0.0.1:{M}>\nContact: <sip:%00%00@127.0.0.1:{M}>\nL:0\n\n"),
    Torture("esc02", "3.1.1.5", True,
        "RE%47ISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:1001@lab.test;tag=e2\n"
        f"Max-Forwards: 70\nCall-ID: esc02.3c4d\nCSeq: 2 RE%47ISTER\n{V}e2\n"
        "Contact: <sip:1001@127.0.0.1:{M};u%6Esed=%5Bx%5D>\nl: 0\n\n"),
    Torture("lwsdisp", "3.1.1.6", True,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\n"
        "From: caller<sip:caller@lab.test>;tag=ld\nMax-Forwards: 70\nCall-ID: lwsdisp.4d5e\n"
        f"CSeq: 3 OPTIONS\n{V}ld\nl: 0\n\n"),
    Torture("longreq", "3.1.1.7", True,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\n"
        "To: \"" + "I have a very long display name " * 20 + "\" <sip:1001@lab.test>\n"
        "From: <sip:" + "amazinglylongcallername" * 12 + "@lab.test>;tag=" + "12982" * 80 + "\n"
        "Call-ID: longreq." + "onereallylongcallid" * 25 + "\nCSeq: 3882340 INVITE\n"
        + "".join(f"Via: SIP/2.0/UDP 192.0.2.{n % 250 + 1};branch=z9hG4bKlong{n}\n" for n in range(60))
        + f"{V}long\nMax-Forwards: 70\n"
        "X-Long-Unknown-" + "Header" * 30 + ": " + "long value, " * 300 + "\n"
        + f"{C};" + ";".join(f"p{n}=v{n}" for n in range(200)) + "\n"
        "Content-Type: application/sdp\nl: {CL}\n\n" + SDP),
    Torture("dblreq", "3.1.1.8", True,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:1001@lab.test;tag=db\n"
        f"Max-Forwards: 70\nCall-ID: dblreq.5e6f\nCSeq: 1 REGISTER\n{V}db\n{C}\nl: 0\n\n"
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:x@lab.test;tag=db2\n"
        f"Max-Forwards: 70\nCall-ID: dblreq.second\nCSeq: 1 INVITE\n{V}db2\nl: 0\n\n"),
    Torture("semiuri", "3.1.1.9", True,
        "OPTIONS sip:user;par=u%40example.net@127.0.0.1:{P} SIP/2.0\nTo: sip:j_user@lab.test\n"
        "From: sip:caller@lab.test;tag=sm\nMax-Forwards: 70\nCall-ID: semiuri.6f70\n"
        f"CSeq: 8 OPTIONS\n{V}sm\nl: 0\n\n"),
    Torture("transports", "3.1.1.10", True,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\n"
        "From: <sip:caller@lab.test>;tag=tr\nMax-Forwards: 70\nCall-ID: transports.7081\n"
        f"CSeq: 1 OPTIONS\n{V}tr\n"
        "Via: SIP/2.0/SCTP 192.0.2.2;branch=z9hG4bKsctp\nVia: SIP/2.0/TLS 192.0.2.3;branch=z9hG4bKtls\n"
        "Via: SIP/2.0/UNKNOWN 192.0.2.4;branch=z9hG4bKunk\nVia: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKudp\nl: 0\n\n"),
    Torture("mpart01", "3.1.1.11", True,
        "MESSAGE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=mp\n"
        f"Max-Forwards: 70\nCall-ID: mpart01.8192\nCSeq: 1 MESSAGE\n{V}mp\n"
        "Content-Type: multipart/mixed;boundary=\"==bnd==\"\nContent-Length: {CL}\n\n"
        "--==bnd==\nContent-Type: text/plain\n\nhello\n--==bnd==\n"
        "Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n"
        "\x00\x01\x02\xfe\xff\x0d\x0a--==bn\n--==bnd==--\n"),
    Torture("unreason", "3.1.1.12", True,
        "SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{P};branch=z9hG4bKunreason\nCall-ID: unreason.92a3\n"
        "CSeq: 1 INVITE\nFrom: <sip:1001@lab.test>;tag=ur\nTo: <sip:x@lab.test>;tag=ur2\n"
        "Contact: <sip:x@127.0.0.1:{M}>\nContent-Type: application/sdp\nl: {CL}\n\n" + SDP),
    Torture("noreason", "3.1.1.13", True,
        "SIP/2.0 100 \nVia: SIP/2.0/UDP 127.0.0.1:{P};branch=z9hG4bKnoreason\nCall-ID: noreason.a3b4\n"
        "CSeq: 1 INVITE\nFrom: <sip:1001@lab.test>;tag=nr\nTo: <sip:x@lab.test>\nContent-Length: 0\n\n"),
    # ------------------------------------------------------------------ 3.1.2 invalid messages
    Torture("badinv01", "3.1.2.1", False,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=bi\n"
        f"Max-Forwards: 70\nCall-ID: badinv01.b4c5\nCSeq: 1 INVITE\n{V}bi;;,;\n"
        "Contact: \"Caller\" <sip:caller@127.0.0.1:{M}>;;,;\nContent-Type: application/sdp\n"
        "Content-Length: {CL}\n\n" + SDP),
    Torture("clerr", "3.1.2.2", False,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=cl\n"
        f"Max-Forwards: 70\nCall-ID: clerr.c5d6\nCSeq: 1 INVITE\n{V}cl\n{C}\n"
        "Content-Type: application/sdp\nContent-Length: 9999\n\n" + SDP),
    Torture("ncl", "3.1.2.3", False,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=nc\n"
        f"Max-Forwards: 70\nCall-ID: ncl.d6e7\nCSeq: 1 INVITE\n{V}nc\n{C}\n"
        "Content-Type: application/sdp\nContent-Length: -999\n\n" + SDP),
    Torture("scalar02", "3.1.2.4", False,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:1001@lab.test;tag=s2\n"
        f"Max-Forwards: 300\nCall-ID: scalar02.e7f8\nCSeq: 36893488147419103232 REGISTER\n{V}s2\n"
        "Contact: <sip:1001@127.0.0.1:{M}>;expires=280297596632815\nExpires: 1020304050607080900\nl: 0\n\n"),
    Torture("scalarlg", "3.1.2.5", False,
        "SIP/2.0 503 Service Unavailable\nVia: SIP/2.0/UDP 127.0.0.1:{P};branch=z9hG4bKscalarlg\n"
        "To: <sip:x@lab.test>;tag=sl\nFrom: <sip:1001@lab.test>;tag=sl2\nCall-ID: scalarlg.f809\n"
        "CSeq: 1 OPTIONS\nRetry-After: 949302838503028349304023988\n"
        "Warning: 1812 overture \"In Progress\"\nContent-Length: 0\n\n"),
    Torture("quotbal", "3.1.2.6", False,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: \"Mr. J. User <sip:1001@lab.test>\n"
        f"From: sip:caller@lab.test;tag=qb\nMax-Forwards: 70\nCall-ID: quotbal.0a1b\nCSeq: 1 INVITE\n{V}qb\n"
        f"{C}\nContent-Type: application/sdp\nContent-Length: {{CL}}\n\n" + SDP),
    Torture("ltgtruri", "3.1.2.7", False,
        "INVITE <sip:1001@127.0.0.1:{P}> SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=lg\n"
        f"Max-Forwards: 70\nCall-ID: ltgtruri.1b2c\nCSeq: 1 INVITE\n{V}lg\n{C}\n"
        "Content-Type: application/sdp\nContent-Length: {CL}\n\n" + SDP),
    Torture("lwsruri", "3.1.2.8", False,
        "INVITE sip:1001@127.0.0.1:{P}; lr SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=lw\n"
        f"Max-Forwards: 70\nCall-ID: lwsruri.2c3d\nCSeq: 1 INVITE\n{V}lw\n{C}\n"
        "Content-Type: application/sdp\nContent-Length: {CL}\n\n" + SDP),
    Torture("lwsstart", "3.1.2.9", False,
        "INVITE  sip:1001@127.0.0.1:{P}   SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=ls\n"
        f"Max-Forwards: 70\nCall-ID: lwsstart.3d4e\nCSeq: 1 INVITE\n{V}ls\n{C}\n"
        "Content-Type: application/sdp\nContent-Length: {CL}\n\n" + SDP),
    Torture("trws", "3.1.2.10", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0 \nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=tw\n"
        f"Max-Forwards: 70\nCall-ID: trws.4e5f\nCSeq: 1 OPTIONS\n{V}tw\nl: 0\n\n"),
    Torture("escruri", "3.1.2.11", False,
        "INVITE sip:1001@127.0.0.1:{P}?Route=%3Csip:evil.example%3E SIP/2.0\nTo: sip:1001@lab.test\n"
        f"From: sip:caller@lab.test;tag=eu\nMax-Forwards: 70\nCall-ID: escruri.5f60\nCSeq: 1 INVITE\n{V}eu\n"
        f"{C}\nContent-Type: application/sdp\nContent-Length: {{CL}}\n\n" + SDP),
    Torture("baddate", "3.1.2.12", False,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=bd\n"
        f"Max-Forwards: 70\nCall-ID: baddate.6071\nCSeq: 1 INVITE\n{V}bd\n{C}\n"
        "Date: Fri, 01 Jan 2010 16:00:00 EST\nContent-Type: application/sdp\nContent-Length: {CL}\n\n" + SDP),
    Torture("regbadct", "3.1.2.13", False,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:1001@lab.test;tag=rb\n"
        f"Max-Forwards: 70\nCall-ID: regbadct.7182\nCSeq: 1 REGISTER\n{V}rb\n"
        "Contact: sip:1001@127.0.0.1:{M};user=phone?Subject=oops;expires=60\nl: 0\n\n"),
    Torture("badaspec", "3.1.2.14", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\n"
        f"{V}ba\nMax-Forwards: 70\nFrom: \"Doe, Jane\" <sip:caller@lab.test>;tag=ba\n"
        "To: \"Roe, John\" < sip:1001@lab.test >\nCall-ID: badaspec.8293\nCSeq: 1 OPTIONS\nl: 0\n\n"),
    Torture("baddn", "3.1.2.15", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\n"
        f"{V}bn\nMax-Forwards: 70\nFrom: Doe, Jane <sip:caller@lab.test>;tag=bn\n"
        "To: Roe, John <sip:1001@lab.test>\nCall-ID: baddn.93a4\nCSeq: 1 OPTIONS\nl: 0\n\n"),
    Torture("badvers", "3.1.2.16", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/7.0\n"
        "Via: SIP/7.0/UDP 127.0.0.1:{M};rport;branch=z9hG4bKbv\nMax-Forwards: 70\n"
        "From: <sip:caller@lab.test>;tag=bv\nTo: <sip:1001@lab.test>\nCall-ID: badvers.a4b5\n"
        "CSeq: 1 OPTIONS\nl: 0\n\n"),
    Torture("mismatch01", "3.1.2.17", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=m1\n"
        f"Max-Forwards: 70\nCall-ID: mismatch01.b5c6\nCSeq: 1 INVITE\n{V}m1\nl: 0\n\n"),
    Torture("mismatch02", "3.1.2.18", False,
        "NEWMETHOD sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=m2\n"
        f"Max-Forwards: 70\nCall-ID: mismatch02.c6d7\nCSeq: 1 INVITE\n{V}m2\n{C}\n"
        "Content-Type: application/sdp\nContent-Length: {CL}\n\n" + SDP),
    Torture("bigcode", "3.1.2.19", False,
        "SIP/2.0 4294967301 better not break the receiver\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{P};branch=z9hG4bKbigcode\nCall-ID: bigcode.d7e8\nCSeq: 1 INVITE\n"
        "From: <sip:1001@lab.test>;tag=bc\nTo: <sip:x@lab.test>;tag=bc2\nContent-Length: 0\n\n"),
    # ------------------------------------------------------------------ 3.2 transaction layer
    Torture("badbranch", "3.2.1", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=bb\n"
        "Max-Forwards: 70\nVia: SIP/2.0/UDP 127.0.0.1:{M};rport;branch=z9hG4bK\n"
        "Call-ID: badbranch.e8f9\nCSeq: 1 OPTIONS\nl: 0\n\n"),
    # ------------------------------------------------------------------ 3.3 application layer
    Torture("insuf", "3.3.1", False,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\n"
        f"{V}in\nMax-Forwards: 70\n{C}\nContent-Type: application/sdp\nl: {{CL}}\n\n" + SDP),
    Torture("unkscm", "3.3.2", False,
        "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\nTo: sip:1001@lab.test\n"
        f"From: sip:caller@lab.test;tag=us\nMax-Forwards: 70\nCall-ID: unkscm.f90a\nCSeq: 1 OPTIONS\n{V}us\nl: 0\n\n"),
    Torture("novelsc", "3.3.3", False,
        "OPTIONS soap.beep://127.0.0.1:{P}//1001 SIP/2.0\nTo: sip:1001@lab.test\n"
        f"From: sip:caller@lab.test;tag=ns\nMax-Forwards: 70\nCall-ID: novelsc.0a1b\nCSeq: 1 OPTIONS\n{V}ns\nl: 0\n\n"),
    Torture("unksm2", "3.3.4", False,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: isbn:2983792873\nFrom: <http://www.example.com>;tag=u2\n"
        f"Max-Forwards: 70\nCall-ID: unksm2.1b2c\nCSeq: 1 REGISTER\n{V}u2\n"
        "Contact: <name:John_Smith>\nl: 0\n\n"),
    Torture("bext01", "3.3.5", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=be\n"
        f"Max-Forwards: 70\nCall-ID: bext01.2c3d\nCSeq: 1 OPTIONS\n{V}be\n"
        "Require: nothingSupportsThis, nothingSupportsThisEither\nProxy-Require: noProxiesSupportThis\nl: 0\n\n"),
    Torture("invut", "3.3.6", False,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=iu\n"
        f"Max-Forwards: 70\nCall-ID: invut.3d4e\nCSeq: 1 INVITE\n{V}iu\n{C}\n"
        "Content-Type: application/unknownformat\nAccept: application/sdp\nContent-Length: {CL}\n\n"
        "<audio><pcmu port=\"40000\"/></audio>\n"),
    Torture("regaut01", "3.3.7", False,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:1001@lab.test;tag=ra\n"
        f"Max-Forwards: 70\nCall-ID: regaut01.4e5f\nCSeq: 1 REGISTER\n{V}ra\n{C}\n"
        "Authorization: NoOneKnowsThisScheme opaque-data=here\nl: 0\n\n"),
    Torture("multi01", "3.3.8", False,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nTo: sip:1002@lab.test\n"
        "From: sip:caller@lab.test;tag=mu\nFrom: sip:other@lab.test;tag=mu2\nMax-Forwards: 70\n"
        "Call-ID: multi01.5f60\nCall-ID: multi01.other\nCSeq: 1 INVITE\nCSeq: 2 INVITE\n"
        f"{V}mu\n{C}\nContent-Type: application/sdp\nl: {{CL}}\n\n" + SDP),
    Torture("mcl01", "3.3.9", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=mc\n"
        f"Max-Forwards: 70\nCall-ID: mcl01.6071\nCSeq: 1 OPTIONS\n{V}mc\n"
        "Content-Length: 0\nContent-Length: 4\nl: 2\nContent-Type: text/plain\n\nxyz\n"),
    Torture("bcast", "3.3.10", False,
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:{P};branch=z9hG4bKbcast\n"
        "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bKbcast2\n"
        "To: <sip:x@lab.test>;tag=bc\nFrom: <sip:1001@lab.test>;tag=bc2\nCall-ID: bcast.7182\n"
        "CSeq: 1 INVITE\nContact: <sip:x@255.255.255.255>\nContent-Length: 0\n\n"),
    Torture("zeromf", "3.3.11", False,
        "OPTIONS sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=zm\n"
        f"Max-Forwards: 0\nCall-ID: zeromf.8293\nCSeq: 1 OPTIONS\n{V}zm\nl: 0\n\n"),
    Torture("cparam01", "3.3.12", True,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:1001@lab.test;tag=c1\n"
        f"Max-Forwards: 70\nCall-ID: cparam01.93a4\nCSeq: 1 REGISTER\n{V}c1\n"
        "Contact: sip:1001@127.0.0.1:{M};methods=\"INVITE, MESSAGE\"\nl: 0\n\n"),
    Torture("cparam02", "3.3.13", True,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:1001@lab.test;tag=c2\n"
        f"Max-Forwards: 70\nCall-ID: cparam02.a4b5\nCSeq: 1 REGISTER\n{V}c2\n"
        "Contact: <sip:1001@127.0.0.1:{M};user=phone>;expires=60\nl: 0\n\n"),
    Torture("regescrt", "3.3.14", True,
        "REGISTER sip:127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:1001@lab.test;tag=re\n"
        f"Max-Forwards: 70\nCall-ID: regescrt.b5c6\nCSeq: 1 REGISTER\n{V}re\n"
        "Contact: <sip:1001@127.0.0.1:{M}?Route=%3Csip:sip.lab.test%3E>\nl: 0\n\n"),
    Torture("sdp01", "3.3.15", True,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nTo: sip:1001@lab.test\nFrom: sip:caller@lab.test;tag=sd\n"
        f"Max-Forwards: 70\nCall-ID: sdp01.c6d7\nCSeq: 1 INVITE\n{V}sd\n{C}\n"
        "Accept: text/nobodyknowsthis\nContent-Type: application/sdp\nContent-Length: {CL}\n\n" + SDP),
    # ------------------------------------------------------------------ 3.4 backward compatibility
    Torture("inv2543", "3.4.1", True,
        "INVITE sip:1001@127.0.0.1:{P} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:{M}\nMax-Forwards: 70\n"
        "From: <sip:caller@lab.test>\nTo: <sip:1001@lab.test>\nCall-ID: inv2543.d7e8\nCSeq: 1 INVITE\n"
        f"{C}\nContent-Type: application/sdp\nl: {{CL}}\n\n" + SDP),
]  # fmt: skip

assert len(CASES) == 49 and len({c.name for c in CASES}) == 49
