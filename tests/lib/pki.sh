# tests/lib/pki.sh — a throw-away test CA and server certificates (EC P-256, 10 years) and
# the common head of an nginx.conf, for the tests and benchmarks that run nginx over TLS.
# The certificate functions write NAME.key/.crt (and .csr/.ext) in the current directory.

# mkca NAME SUBJECT_CN: a self-signed CA certificate NAME.crt with key NAME.key.
mkca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.crt" \
    -days 3650 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# mkcert NAME CA SAN [CN]: a TLS server certificate NAME.crt (subject CN, default NAME) for
# the subjectAltName list SAN, signed by CA.crt/CA.key.
mkcert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=${4:-$1}" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
    "subjectAltName=$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -out "$1.crt" -days 3650 \
    -extfile "$1.ext" 2>/dev/null
}

# nginx_conf_head DIR: print the top of an nginx.conf run with prefix DIR (one worker,
# DIR/nginx.pid, DIR/logs/error.log); the caller goes on with its own "http {" block and
# puts nginx_temp_paths DIR inside it.
nginx_conf_head() {
  printf '%s\n' "worker_processes 1;" "pid $1/nginx.pid;" "error_log $1/logs/error.log warn;" \
    "events { worker_connections 256; }"
}

# nginx_temp_paths DIR: the http-level temporary paths, all under DIR/temp.
nginx_temp_paths() {
  printf '%s\n' "    client_body_temp_path $1/temp/body;  proxy_temp_path $1/temp/proxy;" \
    "    fastcgi_temp_path $1/temp/fastcgi;   uwsgi_temp_path $1/temp/uwsgi;  scgi_temp_path $1/temp/scgi;"
}
