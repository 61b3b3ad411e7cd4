# Filters of the custos role: turn Ansible's ssh argument strings
# (ansible_ssh_common_args, ansible_ssh_extra_args) into the `ssh -o`
# options `custos remote --ssh-option` takes, and name the ones custos
# refuses to use towards a breached host.
#
# They run on the controller and never raise: a problem is returned, so the
# host is reported as not collected and the other hosts go on.

import shlex

# ssh flags that are one -o option; the value is the next argument.
_VALUE_FLAGS = {
    "-p": "Port",
    "-i": "IdentityFile",
    "-J": "ProxyJump",
    "-l": "User",
    "-c": "Ciphers",
    "-m": "MACs",
    "-b": "BindAddress",
    "-B": "BindInterface",
    "-E": None,  # a log file: harmless, dropped
}
# ssh flags without a value that are one -o option.
_BOOL_FLAGS = {
    "-4": "AddressFamily=inet",
    "-6": "AddressFamily=inet6",
    "-C": "Compression=yes",
    "-q": "LogLevel=QUIET",
    "-A": "ForwardAgent=yes",
    "-a": "ForwardAgent=no",
    "-x": "ForwardX11=no",
    "-T": None,  # custos remote decides about a terminal itself
    "-n": None,
    "-v": None,
    "-vv": None,
    "-vvv": None,
}
# Options that hand a breached host something of the responder's.
_REFUSED = {
    "forwardagent": "ForwardAgent lends the breached host your SSH agent (your keys)",
    "remoteforward": "RemoteForward opens a way from the breached host into your network",
    "dynamicforward": "DynamicForward is a proxy a breached host may reach through",
    "forwardx11": "ForwardX11 lends the breached host your display",
    "forwardx11trusted": "ForwardX11Trusted lends the breached host your display",
    "permitlocalcommand": "PermitLocalCommand runs commands on this side",
    "localcommand": "LocalCommand runs commands on this side",
}


def _key_value(opt):
    """Split an ssh -o option, written Key=Value or 'Key Value'."""
    opt = opt.strip()
    for i, c in enumerate(opt):
        if c in "= \t":
            return opt[:i], opt[i + 1:].strip().lstrip("=").strip()
    return opt, ""


def custos_ssh_args(args):
    """ssh command-line arguments (a string or list) -> {'options': [...], 'problems': [...]}."""
    out = {"options": [], "problems": []}
    if not args:
        return out
    if isinstance(args, (list, tuple)):
        tokens = []
        for a in args:
            tokens.extend(shlex.split(str(a)))
    else:
        try:
            tokens = shlex.split(str(args))
        except ValueError as e:
            out["problems"].append("cannot read the ssh arguments %r: %s" % (str(args), e))
            return out
    i = 0
    while i < len(tokens):
        t = tokens[i]
        i += 1
        if t == "-o" or t[:2] in _VALUE_FLAGS or (t.startswith("-o") and len(t) > 2):
            flag, val = t[:2], t[2:]
            if not val:
                if i >= len(tokens):
                    out["problems"].append("ssh argument %s has no value" % t)
                    break
                val, i = tokens[i], i + 1
            if flag == "-o":
                out["options"].append(val)
            elif _VALUE_FLAGS[flag]:
                out["options"].append("%s=%s" % (_VALUE_FLAGS[flag], val))
            continue
        if t in _BOOL_FLAGS:
            if _BOOL_FLAGS[t]:
                out["options"].append(_BOOL_FLAGS[t])
            continue
        if t in ("-L", "-R", "-D", "-W", "-F", "-S", "-w", "-e", "-O", "-Q") or t[:2] in ("-L", "-R", "-D", "-W", "-F", "-S", "-w"):
            what = {"-F": "a config file (put its options in ~/.ssh/config, or give them as -o)",
                    "-S": "a control socket (use -o ControlPath=)",
                    "-R": "a remote forward into your network",
                    "-D": "a proxy on the host's behalf",
                    "-L": "a port forward",
                    "-W": "stdio forwarding",
                    "-w": "a tunnel device"}.get(t[:2], "a flag custos remote has no use for")
            out["problems"].append("ssh argument %s is %s: custos remote does not pass it" % (t, what))
            if len(t) == 2 and t not in ("-e", "-O", "-Q") and i < len(tokens):
                i += 1
            continue
        out["problems"].append("ssh argument %r: custos remote passes only -o options (and -p -i -J -l -4 -6 -C -q); give it as -o Key=Value" % t)
    return out


def custos_ssh_refused(options):
    """The problems with a list of ssh -o options, for a breached host."""
    problems = []
    for opt in options or []:
        key, val = _key_value(str(opt))
        reason = _REFUSED.get(key.lower())
        if reason and val.lower() not in ("no", "none", ""):
            problems.append("ssh option %s: %s; remove it for custos" % (opt, reason))
        if key.lower() == "stricthostkeychecking" and val.lower() in ("no", "off"):
            problems.append("ssh option %s: custos records the host key it checked, and will not collect from a host it did not check; "
                            "add the key to known_hosts (ssh-keyscan, then compare it), or use StrictHostKeyChecking=accept-new knowingly" % opt)
    return problems


class FilterModule(object):
    def filters(self):
        return {"custos_ssh_args": custos_ssh_args, "custos_ssh_refused": custos_ssh_refused}
