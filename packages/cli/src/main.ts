/** Entry point of the `tcpls` command. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.write(`tcpls: ${argv.join(' ')}\n`);
  return 0;
}
