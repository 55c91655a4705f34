#!/bin/bash
# Runs once, when the mysql service initialises an empty data volume (/docker-entrypoint-initdb.d, in name
# order: this file before 02-stockmart.sql). It only creates the pipeline's account, because its password
# comes from the environment (STOCKMART_MYSQL_PASSWORD, from .env) and a .sql file cannot read it. Every
# privilege is granted in 02-stockmart.sql.
#
# The official image sources this file when it is not executable (then docker_process_sql is defined) and
# runs it otherwise; both work. No `set -u`/`exit` here: when sourced they would change the entrypoint itself.

if [ -z "${STOCKMART_MYSQL_PASSWORD:-}" ]; then
    echo >&2 "01-pipeline-user.sh: STOCKMART_MYSQL_PASSWORD is not set for the mysql service"
    false
else
    # Quote for a single-quoted SQL literal: backslashes and single quotes doubled.
    _stockmart_pw=${STOCKMART_MYSQL_PASSWORD//\\/\\\\}
    _stockmart_pw=${_stockmart_pw//\'/\'\'}
    # caching_sha2_password (the 8.x default); PyMySQL completes its first full authentication over RSA
    # (the `cryptography` package) or TLS, and Connector/J over TLS (the server has auto-generated certs).
    _stockmart_sql="CREATE USER IF NOT EXISTS 'stockmart'@'%' IDENTIFIED BY '${_stockmart_pw}';"
    if declare -F docker_process_sql >/dev/null; then
        docker_process_sql <<<"${_stockmart_sql}"
    else
        MYSQL_PWD="${MYSQL_ROOT_PASSWORD}" mysql --protocol=socket -uroot <<<"${_stockmart_sql}"
    fi
    _stockmart_rc=$?
    unset _stockmart_pw _stockmart_sql
    # The script's status when it is run rather than sourced (sourced, the entrypoint's set -e already
    # stopped at a failing client).
    [ "${_stockmart_rc}" -eq 0 ]
fi
