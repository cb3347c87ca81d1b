#!/usr/bin/env bash
# The benchmark's anchor: the submission setup people run today, Postfix as the MSA (STARTTLS
# required, AUTH only over TLS, sender-login maps) with Dovecot SASL over a passwd-file, relaying
# to a Postfix smtp-sink. A private instance in DIR: its own configuration, queue and sockets.
#
# usage: anchor.sh start DIR USERS CERT KEY    then submission on 127.0.0.1:$ANCHOR_PORT (10587),
#        anchor.sh stop DIR                    the sink on 127.0.0.1:$SINK_PORT (10025)
#
# USERS is a Dovecot passwd-file ("user:{ARGON2ID}$argon2id$..." lines) written from the very hashes
# Postern's users file holds, and CERT/KEY are the pair Postern serves: both sides pay the same
# argon2id cost and the same TLS handshake. Each user may send as itself. Postfix and Dovecot start
# as root and drop privileges themselves, as on a mail server.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cmd=${1:?usage: anchor.sh start DIR USERS CERT KEY | stop DIR}
dir=${2:?usage: anchor.sh start DIR USERS CERT KEY | stop DIR}
port=${ANCHOR_PORT:-10587}
sink_port=${SINK_PORT:-10025}

if [ "$cmd" = stop ]; then
  postfix -c "$dir/etc" stop 2>/dev/null || true
  [ -f "$dir/dovecot-run/master.pid" ] && kill "$(cat "$dir/dovecot-run/master.pid")" 2>/dev/null || true
  [ -f "$dir/sink.pid" ] && kill "$(cat "$dir/sink.pid")" 2>/dev/null || true
  exit 0
fi
[ "$cmd" = start ] || { echo "anchor.sh: unknown command $cmd" >&2; exit 64; }
users=${3:?USERS passwd-file}
cert=${4:?CERT}
key=${5:?KEY}

rm -rf "$dir"
mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/dovecot-run"
chmod 755 "$dir" # Postfix's daemons run as user postfix and must reach the queue inside
chown postfix "$dir/data"
cp "$users" "$dir/users"
cp "$cert" "$dir/cert.pem"
cp "$key" "$dir/key.pem"
cut -d: -f1 "$dir/users" | awk '{ print $1, $1 }' > "$dir/senders"

# Dovecot as the SASL server only (no mail protocols), with its auth cache: a cached login still
# verifies the password against the cached hash, so every login pays argon2id once.
cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/dovecot-run
state_dir = $dir/dovecot-run
protocols =
ssl = no
log_path = $dir/dovecot.log
auth_mechanisms = plain login
auth_cache_size = 1M
auth_cache_ttl = 1 hour
passdb {
  driver = passwd-file
  args = scheme=ARGON2ID $dir/users
}
service auth {
  unix_listener $dir/auth {
    mode = 0666
  }
}
CONF
dovecot -c "$dir/dovecot.conf" </dev/null

# Debian's master.cf with the default smtpd off and every service out of the chroot (the instance
# lives outside /var/spool/postfix), plus the submission service.
cp /etc/postfix/master.cf "$dir/etc/master.cf"
sed -i 's/^smtp \+inet.*/#&/' "$dir/etc/master.cf"
sed -i -E 's/^([a-z]+ +(unix|fifo|inet) +[-yn] +[-yn] +)y/\1n/' "$dir/etc/master.cf"
cat >> "$dir/etc/master.cf" <<CONF
127.0.0.1:$port inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_restrictions=reject_sender_login_mismatch
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
CONF
cat > "$dir/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
myhostname = anchor.example
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$sink_port
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file_prefixes = /tmp, /var
maillog_file = $dir/maillog
smtpd_tls_cert_file = $dir/cert.pem
smtpd_tls_key_file = $dir/key.pem
smtpd_sasl_type = dovecot
smtpd_sasl_path = $dir/auth
smtpd_sender_login_maps = texthash:$dir/senders
smtp_tls_security_level = none
# Room for the benchmark's 25 MiB messages, as Postern's limits.maxMessageBytes allows them.
message_size_limit = 52428800
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
CONF

(setsid smtp-sink -u postfix "127.0.0.1:$sink_port" 1024 >/dev/null 2>&1 & echo $! > "$dir/sink.pid")
postfix -c "$dir/etc" check
postfix -c "$dir/etc" start >/dev/null 2>&1
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && [ -S "$dir/auth" ] && exit 0
  sleep 0.2
done
echo "anchor.sh: Postfix or Dovecot did not come up (see $dir/maillog, $dir/dovecot.log)" >&2
exit 1
