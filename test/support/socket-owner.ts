import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Which of the given processes owns the client end of a TCP connection to this machine, read from
 * Linux's /proc (the socket's inode in /proc/net/tcp{,6}, then the process whose fd points at it).
 * A receiver uses it to tell which worker sent a call without trusting anything the call says.
 * Returns undefined where /proc is not readable or no given process holds the socket.
 */
export function socketOwner(options: { clientPort: number; serverPort: number; pids: readonly number[] }): number | undefined {
  const inode = socketInode(options.clientPort, options.serverPort);
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of options.pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      } catch {
        // closed while we looked
      }
    }
  }
  return undefined;
}

function socketInode(clientPort: number, serverPort: number): string | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const local = portOf(fields[1]!);
      const remote = portOf(fields[2]!);
      if (local === clientPort && remote === serverPort) return fields[9];
    }
  }
  return undefined;
}

const portOf = (address: string): number => Number.parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
