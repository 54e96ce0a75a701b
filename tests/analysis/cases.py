"""One small program per language with its known definitions and cyclomatic complexities.

`expected` maps qualified name -> (kind, cyclomatic complexity or None for non-functions).
Complexities count as lizard does (1 + branch points); for languages lizard supports,
`test_lizard_agreement` checks lizard says the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    language: str
    filename: str
    source: str
    expected: dict[str, tuple[str, int | None]]
    imports: int = 0


CASES: list[Case] = [
    Case(
        "python",
        "shapes.py",
        '''import math
from os import path


class Shape:
    """A shape."""

    def area(self, kind, size):
        if kind == "square" and size > 0:
            return size * size
        elif kind == "circle" or kind == "disc":
            return math.pi * size**2
        for _ in range(3):
            pass
        return 0


def helper(xs):
    try:
        return [x for x in xs if x]
    except ValueError:
        return []
''',
        {"Shape": ("class", None), "Shape.area": ("method", 6), "helper": ("function", 4)},
        imports=2,
    ),
    Case(
        "javascript",
        "app.js",
        """import fs from "fs";

class Store {
  get(key) {
    if (key && this.items[key]) { return this.items[key]; }
    return key ? null : undefined;
  }
}

function total(items) {
  let sum = 0;
  for (const item of items) { sum += item.price || 0; }
  return sum;
}

const double = (x) => x * 2;
""",
        {
            "Store": ("class", None),
            "Store.get": ("method", 4),
            "total": ("function", 3),
            "double": ("function", 1),
        },
        imports=1,
    ),
    Case(
        "typescript",
        "service.ts",
        """import { Injectable } from "./di";

interface Repo { find(id: string): number; }

export class Service {
  constructor(private repo: Repo) {}

  lookup(id: string): number {
    switch (id) {
      case "a": return 1;
      case "b": return 2;
      default: return this.repo.find(id) ?? 0;
    }
  }
}

export function isEmpty(s: string): boolean {
  return s === "" || s === undefined;
}
""",
        {
            "Repo": ("interface", None),
            "Repo.find": ("method", 1),
            "Service": ("class", None),
            "Service.constructor": ("method", 1),
            "Service.lookup": ("method", 4),
            "isEmpty": ("function", 2),
        },
        imports=1,
    ),
    Case(
        "tsx",
        "Button.tsx",
        """import React from "react";

type Props = { label?: string; onClick: () => void };

export function Button({ label, onClick }: Props) {
  if (!label) { return null; }
  return <button onClick={onClick}>{label}</button>;
}

export class Panel extends React.Component {
  render() {
    return this.props.open && <div>open</div>;
  }
}
""",
        {
            "Props": ("type", None),
            "Button": ("function", 2),
            "Panel": ("class", None),
            "Panel.render": ("method", 2),
        },
        imports=1,
    ),
    Case(
        "go",
        "server.go",
        """package main

import (
\t"fmt"
\t"os"
)

type Server struct {
\tName string
}

// Start runs the server.
func (s *Server) Start(port int) error {
\tif port <= 0 || port > 65535 {
\t\treturn fmt.Errorf("bad port")
\t}
\tfor i := 0; i < 3; i++ {
\t\tswitch i {
\t\tcase 1:
\t\t\tos.Exit(1)
\t\tdefault:
\t\t}
\t}
\treturn nil
}

func main() {}
""",
        {"Server": ("type", None), "Server.Start": ("method", 5), "main": ("function", 1)},
        imports=1,
    ),
    Case(
        "rust",
        "lib.rs",
        """use std::fmt;

pub struct Point { x: i32, y: i32 }

impl Point {
    pub fn quadrant(&self) -> u8 {
        match (self.x > 0, self.y > 0) {
            (true, true) => 1,
            (false, true) => 2,
            (false, false) => 3,
            _ => 4,
        }
    }
}

fn parse(s: &str) -> Result<i32, std::num::ParseIntError> {
    let n = s.trim().parse::<i32>()?;
    if n < 0 && s.len() > 1 { Ok(-n) } else { Ok(n) }
}
""",
        {"Point": ("impl", None), "Point.quadrant": ("method", 4), "parse": ("function", 4)},
        imports=1,
    ),
    Case(
        "java",
        "Account.java",
        """package bank;

import java.util.List;

public class Account {
    private int balance;

    public Account(int start) { balance = start; }

    public boolean withdraw(int amount) {
        if (amount <= 0 || amount > balance) {
            return false;
        }
        try {
            balance -= amount;
        } catch (RuntimeException e) {
            return false;
        }
        return balance > 100 ? true : false;
    }
}
""",
        {
            "Account": ("class", None),
            "Account.Account": ("constructor", 1),
            "Account.withdraw": ("method", 5),
        },
        imports=1,
    ),
    Case(
        "c",
        "util.c",
        """#include <stdio.h>

struct pair { int a; int b; };

int max(int a, int b) {
    return a > b ? a : b;
}

int count(const char *s) {
    int n = 0;
    while (*s) {
        if (*s == ' ' || *s == '\\t') n++;
        s++;
    }
    return n;
}
""",
        {"pair": ("struct", None), "max": ("function", 2), "count": ("function", 4)},
        imports=1,
    ),
    Case(
        "cpp",
        "stack.cpp",
        """#include <vector>

namespace ds {
class Stack {
 public:
  bool empty() const { return items.empty(); }
  int pop() {
    if (items.empty()) throw 1;
    int v = items.back();
    items.pop_back();
    return v;
  }
 private:
  std::vector<int> items;
};
}

int Sum(const std::vector<int>& xs) {
  int s = 0;
  for (int x : xs) { if (x > 0 && x < 100) s += x; }
  return s;
}
""",
        {
            "ds": ("namespace", None),
            "ds.Stack": ("class", None),
            "ds.Stack.empty": ("method", 1),
            "ds.Stack.pop": ("method", 2),
            "Sum": ("function", 4),
        },
        imports=1,
    ),
    Case(
        "csharp",
        "Greeter.cs",
        """using System;

namespace App {
    public class Greeter {
        public string Greet(string name) {
            if (string.IsNullOrEmpty(name)) {
                return "hello";
            }
            return name ?? "x";
        }
    }
}
""",
        {"App": ("namespace", None), "App.Greeter": ("class", None), "App.Greeter.Greet": ("method", 3)},
        imports=1,
    ),
    Case(
        "ruby",
        "cart.rb",
        """require "json"

module Shop
  class Cart
    def total(items)
      sum = 0
      items.each do |i|
        sum += i.price if i.price && i.price > 0
      end
      sum
    end

    def self.empty?(c)
      c.nil? || c.items.empty?
    end
  end
end
""",
        {
            "Shop": ("module", None),
            "Shop.Cart": ("class", None),
            "Shop.Cart.total": ("method", 3),
            "Shop.Cart.empty?": ("method", 2),
        },
    ),
    Case(
        "php",
        "User.php",
        """<?php
namespace App;

use App\\Models\\Base;

class User extends Base {
    public function label($n) {
        if ($n > 1) {
            return "many";
        } elseif ($n === 1) {
            return "one";
        }
        return "none";
    }
}

function greet($name) {
    return $name ?: "anon";
}
""",
        {"User": ("class", None), "User.label": ("method", 3), "greet": ("function", 1)},
        imports=1,
    ),
    Case(
        "kotlin",
        "Main.kt",
        """import kotlin.math.max

class Counter(var n: Int) {
    fun inc(by: Int): Int {
        if (by > 0 && n < 100) {
            n += by
        }
        return n
    }
}

fun main() {
    for (i in 1..3) println(i)
}
""",
        {"Counter": ("class", None), "Counter.inc": ("method", 3), "main": ("function", 2)},
        imports=1,
    ),
    Case(
        "swift",
        "Queue.swift",
        """import Foundation

struct Queue {
    var items: [Int] = []

    mutating func pop() -> Int? {
        guard !items.isEmpty else { return nil }
        return items.removeFirst()
    }
}

func sign(_ x: Int) -> Int {
    if x > 0 { return 1 } else if x < 0 { return -1 }
    return 0
}
""",
        {"Queue": ("class", None), "Queue.pop": ("method", 2), "sign": ("function", 3)},
        imports=1,
    ),
    Case(
        "scala",
        "Shapes.scala",
        """import scala.math.Pi

object Shapes {
  def area(kind: String, r: Double): Double = kind match {
    case "circle" => Pi * r * r
    case _ => 0.0
  }
}

trait Named { def name: String }
""",
        {"Shapes": ("object", None), "Shapes.area": ("method", 3), "Named": ("trait", None)},
        imports=1,
    ),
    Case(
        "lua",
        "util.lua",
        """local M = {}

function M.clamp(x, lo, hi)
  if x < lo then
    return lo
  elseif x > hi then
    return hi
  end
  return x
end

local function sum(t)
  local s = 0
  for _, v in ipairs(t) do s = s + (v or 0) end
  return s
end

return M
""",
        {"M.clamp": ("function", 3), "sum": ("function", 3)},
    ),
    Case(
        "bash",
        "deploy.sh",
        """#!/usr/bin/env bash
set -e

build() {
  if [ -f Makefile ] && [ -n "$CI" ]; then
    make
  fi
}

deploy() {
  case "$1" in
    prod) echo prod ;;
    dev) echo dev ;;
  esac
}
""",
        {"build": ("function", 3), "deploy": ("function", 2)},
    ),
    Case(
        "elixir",
        "math.ex",
        """defmodule MyMath do
  import Integer

  def sign(x) do
    if x > 0, do: 1, else: -1
  end

  defp classify(x) do
    case x do
      0 -> :zero
      _ -> :other
    end
  end
end
""",
        {"MyMath": ("module", None), "MyMath.sign": ("function", 2), "MyMath.classify": ("function", 3)},
    ),
    Case(
        "erlang",
        "calc.erl",
        """-module(calc).
-export([sign/1]).

sign(X) when X > 0 -> 1;
sign(X) ->
    case X of
        0 -> 0;
        _ -> -1
    end.
""",
        {"calc": ("module", None), "sign": ("function", 3)},
    ),
    Case(
        "haskell",
        "Calc.hs",
        """module Calc where

import Data.List (sort)

sign :: Int -> Int
sign x = if x > 0 then 1 else 0

classify :: Int -> String
classify n = case n of
  0 -> "zero"
  1 -> "one"
  _ -> "many"
""",
        {"sign": ("function", 2), "classify": ("function", 3)},
        imports=1,
    ),
    Case(
        "ocaml",
        "calc.ml",
        """open Printf

let sign x = if x > 0 then 1 else if x < 0 then -1 else 0

let describe n =
  match n with
  | 0 -> "zero"
  | 1 -> "one"
  | _ -> "many"
""",
        {"sign": ("function", 3), "describe": ("function", 3)},
        imports=1,
    ),
    Case(
        "zig",
        "math.zig",
        """const std = @import("std");

pub fn max(a: i32, b: i32) i32 {
    if (a > b and a != 0) return a;
    return b;
}

fn sum(xs: []const i32) i32 {
    var s: i32 = 0;
    for (xs) |x| {
        s += x;
    }
    return s;
}
""",
        {"max": ("function", 3), "sum": ("function", 2)},
    ),
    Case(
        "dart",
        "point.dart",
        """import 'dart:math';

class Point {
  final int x;
  Point(this.x);

  int sign() {
    if (x > 0) return 1;
    return x < 0 ? -1 : 0;
  }
}

void main() {
  for (var i = 0; i < 3; i++) {}
}
""",
        {
            "Point": ("class", None),
            "Point.Point": ("constructor", 1),
            "Point.sign": ("method", 3),
            "main": ("function", 2),
        },
        imports=1,
    ),
    Case(
        "r",
        "stats.R",
        """library(stats)

clamp <- function(x, lo, hi) {
  if (x < lo) {
    lo
  } else if (x > hi) {
    hi
  } else {
    x
  }
}

total <- function(xs) {
  s <- 0
  for (x in xs) s <- s + x
  s
}
""",
        {"clamp": ("function", 3), "total": ("function", 2)},
    ),
    Case(
        "julia",
        "geom.jl",
        """module Geom

using LinearAlgebra

struct Point
    x::Float64
end

function sign(p::Point)
    p.x > 0 ? 1 : (p.x < 0 ? -1 : 0)
end

function total(xs)
    s = 0
    for x in xs
        if x > 0 && x < 10
            s += x
        end
    end
    s
end

end
""",
        {
            "Geom": ("module", None),
            "Geom.Point": ("struct", None),
            "Geom.sign": ("function", 3),
            "Geom.total": ("function", 4),
        },
        imports=1,
    ),
    Case(
        "perl",
        "util.pl",
        """use strict;

sub max {
    my ($a, $b) = @_;
    if ($a > $b) { return $a; }
    return $b;
}

sub sum {
    my $s = 0;
    foreach my $x (@_) { $s += $x unless $x < 0; }
    return $s;
}
""",
        {"max": ("function", 2), "sum": ("function", 3)},
        imports=1,
    ),
    Case(
        "objc",
        "Greeter.m",
        """#import <Foundation/Foundation.h>

@implementation Greeter
- (NSString *)greet:(NSString *)name {
    if (name == nil || [name length] == 0) {
        return @"hello";
    }
    return name;
}
@end

int add(int a, int b) { return a > 0 ? a + b : b; }
""",
        {"Greeter": ("class", None), "Greeter.greet": ("method", 3), "add": ("function", 2)},
        imports=1,
    ),
    Case(
        "gleam",
        "calc.gleam",
        """import gleam/io

pub fn describe(n: Int) -> String {
  case n {
    0 -> "zero"
    1 -> "one"
    _ -> "many"
  }
}

fn both(a: Bool, b: Bool) -> Bool {
  a && b
}
""",
        {"describe": ("function", 3), "both": ("function", 2)},
        imports=1,
    ),
    Case(
        "elm",
        "Main.elm",
        """module Main exposing (main)

import Html

sign : Int -> Int
sign x =
    if x > 0 then 1 else 0

describe n =
    case n of
        0 -> "zero"
        _ -> "other"
""",
        {"sign": ("function", 2), "describe": ("function", 2)},
        imports=1,
    ),
    Case(
        "clojure",
        "core.clj",
        """(ns app.core
  (:require [clojure.string :as str]))

(defn sign [x]
  (if (pos? x) 1 0))

(defn- both [a b]
  (and a b))
""",
        {"app.core": ("namespace", None), "sign": ("function", 2), "both": ("function", 2)},
    ),
]

# Metrics-only formats: (language, filename, source, loc, comment lines)
MARKUP: list[tuple[str, str, str, int, int]] = [
    ("json", "package.json", '{\n  "name": "x",\n\n  "version": "1.0.0"\n}\n', 5, 0),
    ("yaml", "ci.yml", "# pipeline\non: push\n\njobs:\n  test: {}\n", 5, 1),
    ("toml", "pyproject.toml", '[project]\n# the name\nname = "x"\n', 3, 1),
    ("markdown", "README.md", "# Title\n\nSome text.\n\n## Usage\n\nRun it.\n", 7, 0),
    ("css", "site.css", "/* main */\nbody {\n  color: red;\n}\n", 4, 1),
    ("html", "index.html", "<!-- page -->\n<html>\n<body></body>\n</html>\n", 4, 1),
]
