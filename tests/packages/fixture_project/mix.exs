defmodule Fixture.MixProject do
  use Mix.Project

  def project, do: [app: :fixture, version: "0.1.0", deps: deps()]

  defp deps do
    [
      {:jason, "~> 1.4"},
      {:credo, "~> 1.7", only: [:dev, :test], runtime: false},
      {:private_lib, git: "https://example.invalid/private_lib.git"}
    ]
  end
end
