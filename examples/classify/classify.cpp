// Classifies inputs with a trained lunar model:
//   classify runs/x/checkpoints/best.pt < inputs.txt
// Each input line is in the task's format (a ListOps expression, a text, two texts separated by
// a TAB, or pixel values); each output line is the predicted class and its probability.
#include <lunar/train/classifier.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: classify CHECKPOINT < inputs\n";
    return 2;
  }
  try {
    lunar::train::Classifier classifier(argv[1]);
    std::vector<std::string> inputs;
    for (std::string line; std::getline(std::cin, line);) inputs.push_back(line);
    for (const auto& prediction : classifier.classify(inputs, "<stdin>")) {
      std::cout << prediction.label << '\t' << prediction.probabilities[prediction.label] << '\n';
    }
  } catch (const std::exception& error) {
    std::cerr << "classify: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
