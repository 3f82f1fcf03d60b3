package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Completion scripts: urfave/cli's, which ask the program itself for
// candidates with --generate-bash-completion.
const bashCompletion = `# bash completion for ftpshare; load it with: source <(ftpshare completion bash)
_ftpshare_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  local opts
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _ftpshare_complete ftpshare
`

const zshCompletion = `#compdef ftpshare
# zsh completion for ftpshare; load it with: source <(ftpshare completion zsh)
_ftpshare() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _ftpshare ftpshare
`

func completionCommand(st *streams) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: source <(ftpshare completion bash)",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(st.out, bashCompletion)
			case "zsh":
				fmt.Fprint(st.out, zshCompletion)
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				fmt.Fprint(st.out, s)
			default:
				return usagef("completion: name a shell: bash, zsh or fish")
			}
			return nil
		},
	}
}
