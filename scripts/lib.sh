# Shared by the install scripts (sourced, not run): running apt-get as root
# for the test tools that come from Debian packages.

# use_root TOOL PACKAGE sets as_root to the prefix that runs apt-get as root
# (nothing when root, "sudo -n" when allowed), or fails saying what to run.
use_root() {
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "test-tools: $1 is missing and installing it needs root; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $2" >&2
    echo "then run make test-tools again." >&2
    exit 1
  fi
}

# apt_install PACKAGE installs a Debian package with apt-get (after
# use_root).
apt_install() {
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}

# apt_install_service PACKAGE SERVICE installs a Debian package whose
# postinst would start the daemon SERVICE (after use_root), and leaves no
# such service running or enabled: tests start their own on free ports.
# A policy-rc.d answering 101 ("action forbidden") keeps invoke-rc.d from
# starting it during the install; an existing policy is left as it is.
apt_install_service() {
  local package="$1" service="$2"
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  remove_policy() { if [ "$made_policy" = 1 ]; then "${as_root[@]}" rm -f "$policy"; made_policy=0; fi; }
  trap remove_policy EXIT
  apt_install "$package"
  remove_policy
  trap - EXIT
  # Whatever the policy was, leave no service running or enabled.
  if command -v systemctl >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
      "${as_root[@]}" systemctl disable --now "$service.service" >/dev/null 2>&1 || true
    else # no systemd running (containers): disable the unit offline
      "${as_root[@]}" systemctl disable "$service.service" >/dev/null 2>&1 || true
    fi
  fi
  if [ -x "/etc/init.d/$service" ]; then
    "${as_root[@]}" "/etc/init.d/$service" stop >/dev/null 2>&1 || true
    "${as_root[@]}" update-rc.d "$service" disable >/dev/null 2>&1 || true
  fi
}
