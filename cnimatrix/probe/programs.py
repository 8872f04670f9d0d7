"""The shell and perl programs that run on the client, kept apart from the Python that fills them in
and reads them: one program runs a whole batch of probes in one exec and marks each result with
an '@@' line, which outcomes.py parses."""

# Probes run PARALLEL at a time (each its own connection); every result line is one short write,
# so lines never mix. A probe body sets `body` and `rc` for target $2; the loop times it.
PARALLEL = 8
_LOOP_HEAD = r"""
i=0
probe() {{
  start=$(date +%s%N)
"""
_LOOP_TAIL = r"""
  end=$(date +%s%N)
  printf '@@%s\t%s\t%s\t%s\n' "$1" "$rc" "$(( (end-start)/1000 ))" "$(printf '%s' "$body" | head -c 300 | tr '\n\t' '  ')"
}}
for target in {targets}; do
  i=$((i+1))
  probe "$i" "$target" &
  [ $((i % {parallel})) -eq 0 ] && wait
done
wait
"""

# One datagram through bash's /dev/udp, one read with dd: a reply is the answer, a read error
# "Connection refused" is the kernel's ICMP port-unreachable, `timeout` (exit 124) is silence.
_UDP_PROBE = r"""
  body=$(bash -c 'exec 3<>"/dev/udp/$0/$1" && printf "%s" "$2" >&3 && timeout {timeout} dd bs=2048 count=1 status=none <&3' "${{2%:*}}" "${{2##*:}}" {payload} 2>&1); rc=$?"""

UDP_LOOP = _LOOP_HEAD + _UDP_PROBE + _LOOP_TAIL

# Many probes at once from one process: non-blocking TCP connects (then an HTTP/1.0 GET) and UDP
# datagrams, multiplexed with select. Where hundreds of probes share two cores (a NetworkPolicy
# matrix), a process per probe would starve itself into false timeouts. Lines use the same codes
# as curl (exit codes 7 connect, 22 HTTP error, 28 timed out) and the /dev/udp loop, so the same classifiers read them.
# LIMIT bounds the wait for a connection (TCP) or a reply (UDP), what a policy that drops decides.
# A TCP connection made in time then waits up to LIMIT for each part of the answer: a slow server
# process is not a denial. Deadlines are judged as of the moment before a round's reads: a prober descheduled
# past LIMIT on a loaded host (seen at load 24-36 on 2 cores), before or after its reads, must not call an
# answer waiting in its socket a timeout.
_MUX_BATCH = r"""
  my %live;   # file scope: finish, a named sub, would see only the copy from the first call of batch
  sub finish { my ($i, $rc, $text) = @_; my $p = delete $live{$i} or return; close $p->{sock} if $p->{sock};
    $text =~ s/[\t\n\r]+/ /g; printf "@@%d\t%d\t%d\t%s\n", $i, $rc, (time - $p->{t}) * 1e6, substr($text, 0, 300); }
  sub batch { my ($limit, @specs) = @_; %live = ();
  for my $i (1 .. @specs) {
    my ($kind, $host, $port, $path) = $specs[$i - 1] =~ m{^(t|u)\|([^:/]+):(\d+)(/.*)?$} or do { printf "@@%d\t2\t0\tbad target\n", $i; next };
    my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => ($kind eq "t" ? "tcp" : "udp"), Blocking => 0);
    $live{$i} = {kind => $kind, t => time, sock => $sock, host => $host, path => $path // "/", buf => ""};
    if (!$sock) { finish($i, $kind eq "t" ? 7 : 1, "connect: $!"); next }
    if ($kind eq "u") { $live{$i}{sent} = 1; defined(send($sock, "hostname", 0)) or finish($i, 1, "send: $!") }
  }
  while (%live) {
    my ($r, $w) = (IO::Select->new, IO::Select->new);
    for my $p (values %live) { ($p->{kind} eq "t" && !$p->{sent} ? $w : $r)->add($p->{sock}) }
    my $now = time;   # deadlines are judged at this moment, before the reads below: a prober descheduled
                      # after them must not call an answer that came meanwhile a timeout (the next round reads it)
    my ($readable, $writable) = IO::Select->select($r, $w, undef, 0.05);
    my %by = map { (fileno($live{$_}{sock}) => $_) } keys %live;
    for my $sock (@{$writable || []}) { my $i = $by{fileno $sock}; my $p = $live{$i};
      my $err = $sock->sockopt(Socket::SO_ERROR());
      if ($err) { local $! = $err; finish($i, 7, "connect: $!"); next }
      $p->{sent} = $p->{heard} = time; syswrite($sock, "GET $p->{path} HTTP/1.0\r\nHost: $p->{host}\r\n\r\n") }
    for my $sock (@{$readable || []}) { my $i = $by{fileno $sock}; my $p = $live{$i} or next;
      if ($p->{kind} eq "u") { my $got = recv($sock, my $data, 2048, 0);
        defined $got ? finish($i, 0, $data) : finish($i, 1, "recv: $!"); next }
      my $n = sysread($sock, my $chunk, 65536);
      if (!defined $n) { next if $!{EAGAIN}; finish($i, $!{ECONNREFUSED} ? 7 : 56, "recv: $!"); next }
      if ($n) { $p->{buf} .= $chunk; $p->{heard} = time; next }
      my ($status) = $p->{buf} =~ m{^HTTP/\S+ (\d+)}; my (undef, $body) = split /\r\n\r\n/, $p->{buf}, 2;
      defined $status && $status < 400 ? finish($i, 0, $body // "") : finish($i, 22, "HTTP " . ($status // "no status") . " " . ($body // "")) }
    for my $i (keys %live) { my $p = $live{$i};
      if ($p->{kind} eq "u") { finish($i, 124, "") if $now - $p->{t} > $limit; next }
      if (!$p->{sent}) { finish($i, 28, "timed out after $limit s") if $now - $p->{t} > $limit; next }
      finish($i, 28, "connected, then no answer within $limit s") if $now - $p->{heard} > $limit }
  } }"""
_MUX_PERL = "perl -MIO::Socket::INET -MIO::Select -MTime::HiRes=time -MErrno -e '"
MUX = _MUX_PERL + _MUX_BATCH + "\n  batch(@ARGV);' LIMIT SPECS\n"

# MUX as a server (executors: `ask`): one batch per stdin line ("LIMIT SPEC..."), each answer ended
# by @@END, all in one perl kept running. A round then costs neither an exec nor a perl start (a
# perl with these modules costs ~30 ms of CPU to start: a NetworkPolicy round starts 9 per set,
# which was a fifth of this 2-core host while the cases ran). A batch that dies answers @@ERR and
# the server goes on.
MUX_SERVER = (_MUX_PERL + _MUX_BATCH + "\n  $| = 1;\n  while (my $request = <STDIN>) {\n"
              "    eval { batch(split q( ), $request); 1 } or print \"\\@\\@ERR $@\";\n    print \"\\@\\@END\\n\" }'")

DIG_LOOP = r"""
i=0
while read -r name qtype; do
  i=$((i+1))
  echo "@@$i"
  dig +yaml +tries=1 +time={timeout} {flags} "$name" "$qtype" 2>&1
done <<'QUERIES'
{queries}
QUERIES
"""

RESOLVE_TIMING = r"""
perl -MTime::HiRes=time -MSocket -e '
  my ($name, $n, $budget) = @ARGV;
  my $start = time;
  for (1 .. $n) {
    last if time - $start > $budget;
    my $t = time; my @a = gethostbyname($name); my $ms = (time - $t) * 1000;
    printf "@@%.3f %s\n", $ms, (@a ? "ok" : "fail");
  }' NAME COUNT BUDGET
"""

# iputils ping: exit 0 = a reply, 1 = no reply (or ICMP errors), 2 = could not send. `-M do`
# forbids fragmentation, so a packet larger than the path's MTU fails instead of being split.
_PING_PROBE = r"""
  body=$(ping -n -c {count} -W {timeout} {flags} "$2" 2>&1); rc=$?
  body=$(printf '%s' "$body" | grep -i -E 'received|too long|frag|unreachable|unknown|invalid|error' | tr '\n' ' ')"""

# A whole HTTP body to a file, then its size and digest (what arrived, not what curl claims).
_DOWNLOAD_PROBE = r"""
  f=/tmp/cnimatrix-download.$$.$1
  err=$(curl -sS --max-time {timeout} --connect-timeout 5 -o "$f" "http://$2" 2>&1); rc=$?
  body="bytes=$(cat "$f" 2>/dev/null | wc -c) sha256=$(cat "$f" 2>/dev/null | sha256sum | cut -c1-64) $err"
  rm -f "$f" """

PING_LOOP = _LOOP_HEAD + _PING_PROBE + _LOOP_TAIL
DOWNLOAD_LOOP = _LOOP_HEAD + _DOWNLOAD_PROBE + _LOOP_TAIL

# One UDP datagram of exactly SIZE payload bytes per target, never fragmented (IP_MTU_DISCOVER =
# IP_PMTUDISC_DO), as agnhost netexec's "echo" command; the reply must be the same padding back.
DATAGRAM = r"""
perl -MIO::Socket::INET -MSocket -MTime::HiRes=time -e '
  my ($limit, $size, @targets) = @ARGV; my $pad = "x" x ($size - 5); my $i = 0;
  sub out { my ($i, $rc, $t0, $text) = @_; $text =~ s/[\t\n\r]+/ /g;
    printf "@@%d\t%d\t%d\t%s\n", $i, $rc, (time - $t0) * 1e6, substr($text, 0, 300) }
  for my $target (@targets) { $i++; my $t0 = time;
    my ($host, $port) = $target =~ /^(.+):(\d+)$/ or do { out($i, 2, $t0, "bad target"); next };
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => "udp") or do { out($i, 1, $t0, "socket: $!"); next };
    setsockopt($s, IPPROTO_IP, 10, 2) or do { out($i, 1, $t0, "IP_MTU_DISCOVER: $!"); next };
    defined(send($s, "echo $pad", 0)) or do { out($i, 1, $t0, "send: $!"); next };
    my $bits = ""; vec($bits, fileno($s), 1) = 1;
    select(my $ready = $bits, undef, undef, $limit) or do { out($i, 124, $t0, ""); next };
    defined(recv($s, my $data, 65535, 0)) or do { out($i, 1, $t0, "recv: $!"); next };
    out($i, 0, $t0, sprintf("bytes=%d intact=%d", length($data), $data eq $pad ? 1 : 0));
  }' LIMIT SIZE TARGETS
"""

# Network set-up time seen from inside a new pod: its first command stamps the time, pings PEER
# until a reply comes, prints one line and hands over to agnhost. A container command, so the
# probe runs the moment the pod's network exists, with no exec round trip to blur the stamps.
FIRST_ANSWER_SCRIPT = r"""start=$(date +%s%N); tries=0
until ping -n -c 1 -W 1 "$PEER" >/dev/null 2>&1; do tries=$((tries+1)); sleep 0.05; done
echo "@@first-answer start=$start answered=$(date +%s%N) tries=$tries"
exec /agnhost pause"""
