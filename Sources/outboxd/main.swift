import Glibc
import OutboxdDaemon

exit(OutboxdCommand.main(CommandLine.arguments))
