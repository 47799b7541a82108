// The exec guard's reading of commands that start a program on the operator's stdin
// (core/access/stdinInterpreter.ts), tried with the well-known ways to get an interactive shell
// out of a one-line command (GTFOBins' "shell" entries): each of these ran a shell whose
// commands no filter saw, while deny/confirm filters applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stdinInterpreter } from '../core/access/stdinInterpreter.ts';

test('one-liners that hand stdin to a shell are recognised', () => {
  for (const c of [
    `python3 -c 'import pty; pty.spawn("bash")'`,
    `python3 -c 'import os; os.execvp("bash", ["bash"])'`,
    `python3 -c 'import subprocess; subprocess.call("sh")'`,
    `perl -e 'exec "bash"'`,
    `ruby -e 'exec "sh"'`,
    `node -e 'require("child_process").spawn("bash", {stdio: "inherit"})'`,
    `php -r 'passthru("sh");'`,
    'socat - EXEC:bash',
    'socat STDIO SYSTEM:sh',
    'socat stdio exec:sh,pty,stderr',
    'nc -e /bin/sh 127.0.0.1 9',
    'ncat --sh-exec sh 127.0.0.1 9',
    'ksh93',
    '/usr/bin/bash5.2',
    'sshpass -p secret ssh localhost',
    'make -f -',
    'make -f /dev/stdin',
    'tar -cf /dev/null /dev/null --checkpoint=1 --checkpoint-action=exec=/bin/sh',
  ]) assert.notEqual(stdinInterpreter(c).kind, 'none', c);
  // What they must not catch: code that runs nothing, plain tools.
  for (const c of ['python3 -c "print(1)"', `perl -e 'print "hi\\n"'`, 'tar czf - /etc', 'socat - TCP:127.0.0.1:80', 'nc -z 127.0.0.1 22', 'make -C /srv/app', 'sshpass -p x scp -f /tmp/x']) {
    assert.equal(stdinInterpreter(c).kind, 'none', c);
  }
});
