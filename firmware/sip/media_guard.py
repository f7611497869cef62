"""Accept a call's RTP and RTCP only from the far end's host (the address in its SDP).

pjmedia latches: after 10 consecutive RTP packets from a new source it sends the call's audio
there (PJMEDIA_RTP_NAT_PROBATION_CNT, for far ends behind NAT). Any host on the LAN that bursts
10 packets at the phone's RTP port (pjsua's ports start at 4000) between two of the far end's
packets (20 ms apart) gets the phone's outgoing audio and cuts the far end off, the "RTP bleed"
class of attack (Asterisk CVE-2017-14099). pjsua2 has no option to turn latching off, so the
phone puts a classic BPF filter on the call's sockets: datagrams whose IP source is not the far
end's host are dropped by the kernel before pjmedia sees them. The host, not the port, so a far
end that sends from another port than it receives on (asymmetric RTP) still works. SRTP
(`[sip] srtp`) protects as well: an injected packet fails authentication before pjmedia
considers switching.

Off (`[sip] strict_media_source = false`) for far ends behind NAT whose SDP names an address
their packets do not come from (a provider with a session border controller never needs it).
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import logging
import os
import socket
import struct
from collections.abc import Iterable
from typing import Any

import pjsua2 as pj

log = logging.getLogger(__name__)

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
SKF_NET_OFF = -0x100000  # a BPF load relative to the IP header (linux/filter.h)
_LD_W_ABS, _JEQ_K, _RET_K = 0x20, 0x15, 0x06
_ACCEPT, _DROP = 0xFFFFFFFF, 0
_SOURCE_OFFSET = {4: 12, 6: 8}  # where the source address starts in the IPv4 / IPv6 header
_IP = (socket.AF_INET, socket.AF_INET6)


class MediaGuardError(Exception):
    """The filter could not be put on a socket."""


def split_host_port(name: str) -> tuple[str, int] | None:
    """ "192.0.2.1:4000" or "[2001:db8::1]:4000" -> (host, port); None when unparseable or unset."""
    host, sep, port = name.rpartition(":")
    if not sep or not port.isdigit():
        return None
    host = host.removeprefix("[").removesuffix("]")
    return (host, int(port)) if host and int(port) else None


def source_filter(host: str) -> bytes:
    """A BPF program that accepts datagrams from `host` only (IPv4 or IPv6 literal)."""
    addr = ipaddress.ip_address(host)
    words = [int.from_bytes(addr.packed[i : i + 4], "big") for i in range(0, len(addr.packed), 4)]
    program: list[tuple[int, int, int, int]] = []
    for i, word in enumerate(words):
        remaining = len(words) - i  # instructions left in the compare chain after this load
        offset = SKF_NET_OFF + _SOURCE_OFFSET[addr.version] + 4 * i
        program.append((_LD_W_ABS, 0, 0, offset & 0xFFFFFFFF))
        # equal: next word (or accept); else jump to the drop at the end
        program.append((_JEQ_K, 0, 2 * remaining - 1, word))
    program += [(_RET_K, 0, 0, _ACCEPT), (_RET_K, 0, 0, _DROP)]
    return b"".join(struct.pack("HBBI", *insn) for insn in program)


def attach(sock: socket.socket, program: bytes) -> None:
    """SO_ATTACH_FILTER with `program` (the kernel copies it; the buffer only lives for the call)."""
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("HP", len(program) // 8, ctypes.addressof(buffer))  # struct sock_fprog
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except OSError as err:
        raise MediaGuardError(f"SO_ATTACH_FILTER: {err.strerror}") from None


def udp_sockets(ports: Iterable[int]) -> dict[int, socket.socket]:
    """port -> this process's UDP socket bound to it, as a duplicate the caller closes. A duplicate
    shares the socket (its filter too), and holding it means the socket found is the socket
    filtered, whatever other threads open and close meanwhile."""
    wanted, found = set(ports), {}
    for entry in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if not os.readlink(f"/proc/self/fd/{entry}").startswith("socket:"):
                continue
            sock = _dup_socket(int(entry))
            port = _udp_port(sock)
            if port in wanted and port not in found:
                found[port] = sock
            else:
                sock.close()
    return found


def _udp_port(sock: socket.socket) -> int | None:
    if sock.family not in _IP or sock.type != socket.SOCK_DGRAM:
        return None  # e.g. sd_notify's AF_UNIX datagram socket: its name is a path
    try:
        return int(sock.getsockname()[1])
    except OSError:
        return None


def _dup_socket(fd: int) -> socket.socket:
    copy = os.dup(fd)
    try:
        return socket.socket(fileno=copy)
    except OSError:  # the number was reused by something else since the scan read it
        os.close(copy)
        raise


def restrict_sources(local_ports: Iterable[int], remote_host: str) -> int:
    """Filter the UDP sockets on `local_ports` to datagrams from `remote_host`; returns how many
    sockets got the filter. Raises MediaGuardError (the caller logs; the call goes on)."""
    try:
        address = ipaddress.ip_address(remote_host)
    except ValueError:
        raise MediaGuardError(f"{remote_host!r} is not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:a.b.c.d arrives as IPv4 packets
    program = source_filter(str(address))
    sockets = udp_sockets(local_ports)
    try:
        for sock in sockets.values():
            attach(sock, program)
    finally:
        for sock in sockets.values():
            sock.close()
    return len(sockets)


def guard_call_media(call: Any, med_idx: int) -> None:
    """Put the filter on a pjsua2 call's media sockets (RTP and RTCP) for the far end's host named
    in its SDP. Called on every media update (a re-INVITE may move the far end). Never raises: a
    call without the filter is still a call (and pjsua2 callbacks must not raise), so a failure is
    logged and RTP from any host is accepted."""
    try:
        _guard(call, med_idx)
    except pj.Error as err:
        log.warning("media source check skipped: %s", err.info())
    except MediaGuardError as err:
        log.warning("media source check unavailable, RTP from any host is accepted: %s", err)
    except Exception:
        log.exception("media source check failed, RTP from any host is accepted")


def _guard(call: Any, med_idx: int) -> None:
    transport, stream = call.getMedTransportInfo(med_idx), call.getStreamInfo(med_idx)
    local = [split_host_port(str(n)) for n in (transport.localRtpName, transport.localRtcpName)]
    remote = split_host_port(str(stream.remoteRtpAddress))
    if remote is None or _unspecified(remote[0]):
        return  # no address yet, or 0.0.0.0 (an old-style hold): nothing to accept from
    count = restrict_sources({a[1] for a in local if a is not None}, remote[0])
    if count == 0:
        raise MediaGuardError(f"no UDP socket of this process is bound to {transport.localRtpName}")
    log.info("media accepted only from %s (%d sockets)", remote[0], count)


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False  # a host name: restrict_sources says why it cannot filter on it
